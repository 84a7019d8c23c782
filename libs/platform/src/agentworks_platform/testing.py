"""Test support shared by every package: a PostgreSQL server (found or started) and fresh databases.

Tests that need Postgres use the server on 127.0.0.1:5432 when it answers, and otherwise start Debian's
PostgreSQL in a temporary directory for the test session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import psycopg

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


def create_database(admin_dsn: str) -> str:
    """Create a uniquely named database; returns its SQLAlchemy (psycopg async) URL."""
    name = f"aw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    params = dict(part.split("=", 1) for part in admin_dsn.split())
    return f"postgresql+psycopg://{params.get('user', 'postgres')}@{params['host']}:{params['port']}/{name}"


def drop_database(admin_dsn: str, url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
