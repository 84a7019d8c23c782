from __future__ import annotations

import asyncio
from pathlib import Path

from agentworks_platform.db import Database
from sqlalchemy import text


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
