"""The embedded database's driver: one trip to the connection's thread per statement, DB-API behaviour kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agentworks_platform import sqlite_driver
from agentworks_platform.db import Database, new_metadata
from agentworks_platform.sqlite_driver import OneTripConnection
from sqlalchemy import Column, Integer, String, Table, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function sent to a connection's thread."""
    sent: list[str] = []
    original = OneTripConnection._execute

    async def counting(self: OneTripConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counting)
    return sent


async def test_a_statement_costs_one_trip_to_the_connection_thread(tmp_path: Path, trips: list[str]) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/trips.db")
    try:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))  # the pool's first connection and its pragmas
        trips.clear()
        async with db.transaction() as session:
            for n in range(10):
                assert await session.scalar(text("SELECT :n"), {"n": n}) == n
        sent = list(trips)
    finally:
        await db.dispose()
    # the ten selects (BEGIN IMMEDIATE travels with the first), the commit; the pool's reset costs none
    assert sent == ["_run"] * 10 + ["commit"], str(sent)


async def test_rows_counts_returning_and_errors_behave_as_the_db_api_says(tmp_path: Path) -> None:
    metadata = new_metadata()
    items = Table(
        "items",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(20), unique=True),
    )
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/dbapi.db")
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with db.transaction() as session:
            created = await session.execute(insert(items).returning(items.c.id), [{"name": "a"}, {"name": "b"}])
            assert sorted(created.scalars()) == [1, 2]
            inserted = await session.execute(insert(items).values(name="c"))
            assert inserted.inserted_primary_key == (3,)
            await session.execute(insert(items), [{"name": f"n{i}"} for i in range(5)])  # executemany
            renamed = await session.execute(
                update(items).where(items.c.name.like("n%")).values(name=items.c.name + "!")
            )
            assert renamed.rowcount == 5  # type: ignore[attr-defined]
        async with db.transaction() as session:
            streamed = await session.stream(select(items.c.name).order_by(items.c.id))
            assert [row.name async for row in streamed] == ["a", "b", "c", *(f"n{i}!" for i in range(5))]
            assert (await session.execute(delete(items).where(items.c.id > 3))).rowcount == 5  # type: ignore[attr-defined]

        async def insert_z_then_a_again() -> None:
            async with db.transaction() as session:
                await session.execute(insert(items).values(name="z"))
                await session.execute(insert(items).values(name="a"))

        with pytest.raises(IntegrityError):
            await insert_z_then_a_again()
        async with db.transaction() as session:
            assert await session.scalar(select(items.c.id).where(items.c.name == "z")) is None  # rolled back
            assert await session.scalar(select(items.c.name).where(items.c.id == 2)) == "b"
            assert (await session.execute(select(items.c.id).where(items.c.id > 100))).first() is None
    finally:
        await db.dispose()


async def test_a_large_result_comes_in_bounded_chunks_and_streams(
    tmp_path: Path, trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "ROWS_PER_TRIP", 10)
    metadata = new_metadata()
    numbers = Table("numbers", metadata, Column("n", Integer, primary_key=True))
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/chunks.db")
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with db.transaction() as session:
            await session.execute(insert(numbers), [{"n": n} for n in range(25)])
        trips.clear()
        async with db.transaction() as session:
            assert list(await session.scalars(select(numbers.c.n).order_by(numbers.c.n))) == list(range(25))
        assert trips == ["_run", "_more", "_more", "commit"]  # 10 rows with the statement, then 10 and 5
        async with db.transaction() as session:
            query = select(numbers.c.n).order_by(numbers.c.n).execution_options(yield_per=4)
            streamed = [n async for n in await session.stream_scalars(query)]
            early = await session.stream_scalars(select(numbers.c.n).order_by(numbers.c.n))
            first = [await anext(early) for _ in range(3)]
            await early.close()  # rows left behind: the statement is closed, not kept open
            assert await session.scalar(select(func.count()).select_from(numbers)) == 25
        assert streamed == list(range(25))
        assert first == [0, 1, 2]
    finally:
        await db.dispose()
