"""Fixtures shared by every test directory: database backends (SQLite and PostgreSQL), the signing key."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from agentworks_platform.migrations import upgrade
from agentworks_platform.service_auth import ensure_dev_key
from agentworks_platform.testing import create_database, drop_database, postgres_server

BACKENDS = tuple(os.environ.get("AW_TEST_BACKENDS", "sqlite,postgres").split(","))


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    with postgres_server() as dsn:
        yield dsn


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
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend: a SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    admin = request.getfixturevalue("postgres_admin")
    url = create_database(admin)
    yield url
    drop_database(admin, url)


class Templates:
    """Migrated template databases, made once per session and copied for each test (fast and isolated)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[tuple[str, Path], str] = {}
        self.created: list[tuple[str, str]] = []

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
            self.created.append((admin, url))
        name = f"aw_test_{uuid.uuid4().hex[:12]}"
        template = self.made[key].rsplit("/", 1)[-1]
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = self.made[key].rsplit("/", 1)[0] + "/" + name
        self.created.append((admin, url))
        return url


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("templates"))
    yield made
    for admin, url in reversed(made.created):
        drop_database(admin, url)


@pytest.fixture
def migrated_database(
    backend: str, templates: Templates, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[Path], str]:
    """Returns a function giving a fresh database with a service's migrations applied."""

    def make(migrations: Path) -> str:
        if backend == "sqlite":
            return templates.sqlite(migrations, tmp_path / f"{uuid.uuid4().hex}.db")
        return templates.postgres(migrations, request.getfixturevalue("postgres_admin"))

    return make
