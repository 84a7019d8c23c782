"""Test support shared by every package: a PostgreSQL server (found or started) and fresh databases.

Tests that need Postgres use the server on 127.0.0.1:5432 when it answers, and otherwise start Debian's
PostgreSQL in a temporary directory for the test session.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import psycopg

from agentworks_platform.migrations import upgrade

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an admin DSN: the running local server, or a throw-away one from Debian's binaries."""
    dsn = os.environ.get("AW_TEST_POSTGRES_DSN", DEFAULT_ADMIN_DSN)
    if _reachable(dsn):
        yield dsn
        return
    with private_postgres_server() as started:
        yield started


@contextlib.contextmanager
def private_postgres_server(**settings: str | int) -> Iterator[str]:
    """Yield the admin DSN of a throw-away server from Debian's binaries, started with ``settings`` (e.g.
    ``max_connections=20``), for tests that need a server configured as the shared one is not."""
    binaries = sorted(glob("/usr/lib/postgresql/*/bin"))
    if not binaries:
        raise RuntimeError("no PostgreSQL server is reachable and none is installed (apt-get install postgresql)")
    bin_dir = Path(binaries[-1])
    data = Path(tempfile.mkdtemp(prefix="aw-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    options = " ".join(
        [f"-p {port} -k {data} -h 127.0.0.1", *(f"-c {name}={value}" for name, value in settings.items())]
    )
    subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"), "-o", options, "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        started = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        deadline = time.monotonic() + 30
        while not _reachable(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        yield started
    finally:
        subprocess.run(
            _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


def _without_commit_flushes(connection: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    """Commits on database ``name`` no longer wait for their WAL to reach the disk (``synchronous_commit = off``).

    What a transaction sees and when its commit becomes visible are unchanged; only a crash of the server itself
    could lose the last commits, and no test survives that. On a shared disk a flushed commit costs several
    milliseconds: tests that commit thousands of times spent most of their time waiting for it.
    """
    connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def create_database(admin_dsn: str, *, flush_commits: bool = True) -> str:
    """Create a uniquely named database; returns its SQLAlchemy (psycopg async) URL.

    Tests pass ``flush_commits=False`` (see ``_without_commit_flushes``); benchmarks keep the production setting.
    """
    name = f"aw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        if not flush_commits:
            _without_commit_flushes(connection, name)
    params = dict(part.split("=", 1) for part in admin_dsn.split())
    return f"postgresql+psycopg://{params.get('user', 'postgres')}@{params['host']}:{params['port']}/{name}"


def drop_database(admin_dsn: str, url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class DatabaseDropper:
    """Drops PostgreSQL test databases on threads of their own, several at a time.

    Every ``DROP DATABASE`` waits for a checkpoint (seconds on a busy server, spent waiting on the disk): dropping
    beside the next tests keeps that time off the run, and dropping several at once lets them wait for the same
    checkpoint instead of one each (six drops in turn took minutes on a loaded server, six at once a second).
    """

    def __init__(self, workers: int = 8) -> None:
        self._pending: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._failures: list[tuple[str, str]] = []
        self._gone: set[str] = set()
        self._threads = [
            threading.Thread(target=self._drop_each, name=f"database-dropper-{n}", daemon=True) for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def drop(self, admin: str, url: str) -> None:
        self._pending.put((admin, url))

    def forget(self, admin: str) -> None:
        """The server at ``admin`` is gone with its databases: nothing more is dropped there."""
        self._gone.add(admin)

    def close(self) -> list[str]:
        """Waits until every database handed over is dropped; returns those that could not be."""
        for _ in self._threads:
            self._pending.put(None)
        for thread in self._threads:
            thread.join()
        return [failure for admin, failure in self._failures if admin not in self._gone]

    def _drop_each(self) -> None:
        while (item := self._pending.get()) is not None:
            admin, url = item
            if admin in self._gone:
                continue
            try:
                drop_database(admin, url)
            except psycopg.Error as exc:
                self._failures.append((admin, f"{url.rsplit('/', 1)[-1]}: {exc}"))


def copy_postgres(template_url: str, admin: str) -> str:
    """A new database copied from ``template_url`` (``CREATE DATABASE … TEMPLATE``; nothing may be connected to it),
    its commits not flushed (``_without_commit_flushes``: a database's settings are not copied with it)."""
    name = f"aw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.rsplit("/", 1)[-1]}"')
        _without_commit_flushes(connection, name)
    return template_url.rsplit("/", 1)[0] + "/" + name


class Templates:
    """Migrated template databases, made once per session and copied for each test (fast and isolated)."""

    def __init__(self, root: Path, dropper: DatabaseDropper) -> None:
        self.root = root
        self.dropper = dropper
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
        self.dropper.forget(admin)

    def postgres(self, migrations: Path, admin: str) -> str:
        key = (admin, migrations)  # a test module may use a server of its own
        if key not in self.made:
            url = create_database(admin, flush_commits=False)
            upgrade(migrations, url)
            self.made[key] = url
        return copy_postgres(self.made[key], admin)

    def keep(self, admin: str, url: str) -> None:
        """Drop ``url``, a template a test made itself (a seeded database), with the session's templates."""
        self.made[(admin, Path(url))] = url

    def drop_templates(self) -> None:
        """Hands every PostgreSQL template still on a live server to the dropper."""
        for (admin, _), url in self.made.items():
            if admin != "sqlite":
                self.dropper.drop(admin, url)
