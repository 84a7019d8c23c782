"""Fixtures shared by every test directory: database backends (SQLite and PostgreSQL), the signing key."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from agentworks_platform.migrations import upgrade
from agentworks_platform.service_auth import ensure_dev_key
from agentworks_platform.testing import create_database, drop_database, postgres_server

BACKENDS = tuple(os.environ.get("AW_TEST_BACKENDS", "sqlite,postgres").split(","))


class DatabaseDropper:
    """Drops PostgreSQL test databases on a thread of its own, in the order they were handed over.

    Every ``DROP DATABASE`` waits for a checkpoint (0.5-3.5 s on a busy server), which is spent waiting on the
    disk: dropping beside the next tests instead of in their way keeps that time off the run.
    """

    def __init__(self) -> None:
        self._pending: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._failures: list[str] = []
        self._thread = threading.Thread(target=self._drop_each, name="database-dropper", daemon=True)
        self._thread.start()

    def drop(self, admin: str, url: str) -> None:
        self._pending.put((admin, url))

    def close(self) -> list[str]:
        """Waits until every database handed over is dropped; returns what could not be dropped."""
        self._pending.put(None)
        self._thread.join()
        return self._failures

    def _drop_each(self) -> None:
        while (item := self._pending.get()) is not None:
            admin, url = item
            try:
                drop_database(admin, url)
            except psycopg.Error as exc:
                self._failures.append(f"{url.rsplit('/', 1)[-1]}: {exc}")


class PostgresForTests:
    """The session's PostgreSQL server (found or started on first use) and the dropper of its test databases.

    Both end after the last test, outside every test's time limit: the drops still queued finish first, then a
    server started for the session stops.
    """

    def __init__(self) -> None:
        self.dropper = DatabaseDropper()
        self._server = contextlib.ExitStack()
        self._admin: str | None = None

    @property
    def admin(self) -> str:
        if self._admin is None:
            self._admin = self._server.enter_context(postgres_server())
        return self._admin

    def close(self) -> None:
        for failure in self.dropper.close():
            sys.stderr.write(f"test database left behind: {failure}\n")
        self._server.close()


POSTGRES = pytest.StashKey[PostgresForTests]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[POSTGRES] = PostgresForTests()


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[POSTGRES].close()


@pytest.fixture(scope="session")
def postgres_admin(request: pytest.FixtureRequest) -> str:
    return request.config.stash[POSTGRES].admin


@pytest.fixture(scope="session")
def database_dropper(request: pytest.FixtureRequest) -> DatabaseDropper:
    return request.config.stash[POSTGRES].dropper


@pytest.fixture(scope="session")
def dev_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The development signing key every service under test shares, generated once per session: a 2048-bit
    RSA key costs 50-200 ms to generate, which a fixture per test would pay a thousand times over."""
    path = tmp_path_factory.mktemp("keys") / "dev.pem"
    ensure_dev_key(path)
    return path


@pytest.fixture(scope="session")
def dev_key(dev_key_file: Path) -> bytes:
    """The private key (PEM) in ``dev_key_file``, for signing tokens the services under test accept."""
    return dev_key_file.read_bytes()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, database_dropper: DatabaseDropper
) -> Iterator[str]:
    """A fresh, empty database on each backend: a SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    admin = request.getfixturevalue("postgres_admin")
    url = create_database(admin)
    yield url
    database_dropper.drop(admin, url)


class Templates:
    """Migrated template databases, made once per session and copied for each test (fast and isolated)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[tuple[str, Path], str] = {}

    def sqlite(self, migrations: Path, target: Path) -> str:
        key = ("sqlite", migrations)
        if key not in self.made:
            template = self.root / f"{uuid.uuid4().hex}.db"
            upgrade(migrations, f"sqlite+aiosqlite:///{template}")
            self.made[key] = str(template)
        shutil.copyfile(self.made[key], target)
        return f"sqlite+aiosqlite:///{target}"

    def forget(self, admin: str) -> None:
        """Drop nothing more on a server that is gone (a module's own server, stopped with its databases)."""
        self.made = {key: url for key, url in self.made.items() if key[0] != admin}
        self.created = [(server, url) for server, url in self.created if server != admin]

    def postgres(self, migrations: Path, admin: str) -> str:
        key = (admin, migrations)  # a test module may use a server of its own
        if key not in self.made:
            url = create_database(admin)
            upgrade(migrations, url)
            self.made[key] = url
        name = f"aw_test_{uuid.uuid4().hex[:12]}"
        template = self.made[key].rsplit("/", 1)[-1]
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.made[key].rsplit("/", 1)[0] + "/" + name

    def postgres_templates(self) -> list[str]:
        return [url for (backend, _), url in self.made.items() if backend == "postgres"]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("templates"))
    yield made
    postgres = request.config.stash[POSTGRES]
    for url in made.postgres_templates():
        postgres.dropper.drop(postgres.admin, url)


@pytest.fixture
def migrated_database(
    backend: str,
    templates: Templates,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    database_dropper: DatabaseDropper,
) -> Iterator[Callable[[Path], str]]:
    """Returns a function giving a fresh database with a service's migrations applied (dropped after the test)."""
    made: list[tuple[str, str]] = []

    def make(migrations: Path) -> str:
        if backend == "sqlite":
            return templates.sqlite(migrations, tmp_path / f"{uuid.uuid4().hex}.db")
        admin = request.getfixturevalue("postgres_admin")
        url = templates.postgres(migrations, admin)
        made.append((admin, url))
        return url

    yield make
    for admin, url in made:
        database_dropper.drop(admin, url)
