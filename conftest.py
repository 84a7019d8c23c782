"""Fixtures shared by every test directory: database backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentworks_platform.testing import create_database, drop_database, postgres_server

BACKENDS = tuple(os.environ.get("AW_TEST_BACKENDS", "sqlite,postgres").split(","))


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    admin = request.getfixturevalue("postgres_admin")
    url = create_database(admin)
    yield url
    drop_database(admin, url)
