"""The embedded database's driver: aiosqlite, with one trip to the connection's thread per statement.

aiosqlite runs every DB-API call on the connection's own thread, and SQLAlchemy's adapter makes four of them
per statement (open a cursor, execute, fetch the rows, close). Each trip is a hand-off between two threads
that, on a busy machine, waits for the scheduler: a request of five statements paid for twenty. Here a
statement is executed and all its rows fetched in one trip, and the cursor the adapter holds lives on the
event loop's side. SQLAlchemy's own aiosqlite dialect is used unchanged, with this module as its driver.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

Description = tuple[tuple[Any, ...], ...] | None
Outcome = tuple[Description, int, int | None, list[Any], bool]

ITER_CHUNK_SIZE = 64  # aiosqlite's default; only its own iteration helpers use it


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool, begin: bool) -> Outcome:
    """On the connection's thread: the statement (after ``BEGIN IMMEDIATE`` when a transaction is due to
    start), run to its end, with everything the cursor reports."""
    cursor = connection.cursor()
    try:
        if begin:
            cursor.execute("BEGIN IMMEDIATE")
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows, connection.in_transaction
    finally:
        cursor.close()


class StatementCursor:
    """A cursor whose ``execute`` runs the statement and fetches its rows in one trip; fetching is local."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> StatementCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> StatementCursor:
        await self._trip(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> StatementCursor:
        await self._trip(sql, list(parameters), many=True)
        return self

    async def _trip(self, sql: str, parameters: Any, many: bool) -> None:
        connection = self._connection
        begin, connection.begin_pending = connection.begin_pending, False
        try:
            trip = connection._execute(_run, connection._conn, sql, parameters, many, begin)  # type: ignore[no-untyped-call]
            outcome: Outcome = await trip
        except BaseException:
            connection.in_transaction = True  # unknown after a failure: a rollback must not be skipped
            raise
        self.description, self.rowcount, self.lastrowid, rows, connection.in_transaction = outcome
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection (its thread, closing) with statement cursors; a transaction's ``BEGIN
    IMMEDIATE`` travels with its first statement, and ending a transaction that never started (the pool
    resets every connection it gets back) stays on the loop's side."""

    in_transaction = False  # as the connection's thread reported it after the last statement
    begin_pending = False

    def cursor(self) -> StatementCursor:  # type: ignore[override]
        return StatementCursor(self)

    def begin_immediate(self) -> None:
        """Start a transaction that takes the write lock at once, with the next statement."""
        self.begin_pending = True

    async def commit(self) -> None:
        self.begin_pending = False
        if self.in_transaction:
            await super().commit()
        self.in_transaction = False

    async def rollback(self) -> None:
        self.begin_pending = False
        if self.in_transaction:
            await super().rollback()
        self.in_transaction = False


class _Driver:
    """What SQLAlchemy's adapter asks of the aiosqlite module: its errors and version, ``Connection`` and
    ``connect``; everything but the connection class is aiosqlite's own."""

    Connection = OneTripConnection

    def __getattr__(self, name: str) -> Any:
        return getattr(aiosqlite, name)

    @staticmethod
    def connect(database: str, **kwargs: Any) -> OneTripConnection:
        return OneTripConnection(lambda: sqlite3.connect(database, **kwargs), ITER_CHUNK_SIZE)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DB-API module to hand ``create_async_engine(module=…)`` for ``sqlite+aiosqlite`` URLs."""
    return AsyncAdapt_aiosqlite_dbapi(_Driver(), sqlite3)  # type: ignore[arg-type]
