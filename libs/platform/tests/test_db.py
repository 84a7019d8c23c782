from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import psycopg
import pytest
from agentworks_platform.db import (
    Database,
    DatabaseBusy,
    PoolLimits,
    insert_many_ignoring_conflicts,
    is_unique_violation,
    new_metadata,
)
from agentworks_platform.errors import AppError
from sqlalchemy import Column, String, Table, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError


async def test_sqlite_transactions_of_a_process_take_turns_on_one_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/turns.db")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE hits (n INTEGER)"))
    connections_in_use: list[int] = []
    order: list[int] = []

    async def write(n: int) -> None:
        async with db.transaction() as session:
            order.append(n)
            await session.execute(text("INSERT INTO hits VALUES (:n)"), {"n": n})
            connections_in_use.append(db.engine.pool.checkedout())  # type: ignore[attr-defined]
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(write(n) for n in range(20)))
        async with db.transaction() as session:
            assert await session.scalar(text("SELECT count(*) FROM hits")) == 20
    finally:
        await db.dispose()
    assert set(connections_in_use) == {1}  # none waits inside SQLite's busy handler on a connection of its own
    assert order == list(range(20))  # first come, first served


async def test_inserting_many_rows_ignores_existing_and_repeated_keys_and_returns_the_new_ones(
    database_url: str,
) -> None:
    metadata = new_metadata()
    seen = Table("seen", metadata, Column("key", String(8), primary_key=True), Column("note", String(8)))
    db = Database(database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with db.transaction() as session:
            assert await insert_many_ignoring_conflicts(session, seen, [{"key": "a", "note": "1"}], "key") == ["a"]
        rows = [{"key": key, "note": "2"} for key in ("a", "b", "c", "b")]
        async with db.transaction() as session:
            assert sorted(await insert_many_ignoring_conflicts(session, seen, rows, "key")) == ["b", "c"]
            assert await insert_many_ignoring_conflicts(session, seen, [], "key") == []
        async with db.transaction() as session:
            stored = (await session.execute(select(seen.c.key, seen.c.note).order_by(seen.c.key))).all()
        assert [tuple(row) for row in stored] == [("a", "1"), ("b", "2"), ("c", "2")]
    finally:
        await db.dispose()


def _postgres_only(database_url: str) -> None:
    if make_url(database_url).get_backend_name() == "sqlite":
        pytest.skip("SQLite has no connection pool to exhaust")


async def test_a_transaction_that_waits_past_the_pool_timeout_is_refused_as_busy(database_url: str) -> None:
    _postgres_only(database_url)
    db = Database(database_url, PoolLimits(size=1, overflow=0, timeout_seconds=0.05))
    try:
        async with db.transaction() as holder:
            await holder.execute(text("SELECT 1"))
            with pytest.raises(DatabaseBusy) as refused:
                async with db.transaction() as session:
                    await session.execute(text("SELECT 1"))
        async with db.transaction() as session:  # the pool serves again once the holder is done
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()
    assert _is_busy_503(refused.value)


async def test_a_server_out_of_connections_is_refused_as_busy(database_url: str) -> None:
    """PostgreSQL's "too many connections" (SQLSTATE 53300) is a 503 to retry, not a 500."""
    _postgres_only(database_url)
    url = make_url(database_url)
    role = f"aw_budget_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
    db = Database(url.set(username=role, password=None).render_as_string(hide_password=False))
    try:
        async with db.transaction() as holder:
            await holder.execute(text("SELECT 1"))
            with pytest.raises(DatabaseBusy) as refused:
                async with db.transaction() as session:
                    await session.execute(text("SELECT 1"))
    finally:
        await db.dispose()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP ROLE {role}")
    assert _is_busy_503(refused.value)


def _is_busy_503(error: AppError) -> bool:
    return (error.status_code, error.code, error.headers) == (503, "database_busy", {"Retry-After": "1"})


async def test_an_insert_meeting_an_existing_key_is_told_apart_from_other_integrity_errors(database_url: str) -> None:
    metadata = new_metadata()
    keyed = Table(
        "keyed", metadata, Column("key", String(8), primary_key=True), Column("note", String(8), nullable=False)
    )
    db = Database(database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(keyed.insert().values(key="a", note="1"))
        with pytest.raises(IntegrityError) as repeated:
            async with db.transaction() as session:
                await session.execute(keyed.insert().values(key="a", note="2"))
        with pytest.raises(IntegrityError) as missing:
            async with db.transaction() as session:
                await session.execute(keyed.insert().values(key="b", note=None))
    finally:
        await db.dispose()
    assert is_unique_violation(repeated.value)
    assert not is_unique_violation(missing.value)
