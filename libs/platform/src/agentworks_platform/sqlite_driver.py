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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

Description = tuple[tuple[Any, ...], ...] | None
Outcome = tuple[Description, int, int | None, list[Any], bool, sqlite3.Cursor | None]

ITER_CHUNK_SIZE = 64  # aiosqlite's default; only its own iteration helpers use it
ROWS_PER_TRIP = 1000  # a larger result is fetched in further trips, so streaming keeps its memory bound


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool, begin: bool) -> Outcome:
    """On the connection's thread: the statement (after ``BEGIN IMMEDIATE`` when a transaction is due to
    start) with its first rows and everything the cursor reports; the cursor comes back only if rows remain."""
    cursor = connection.cursor()
    try:
        if begin:
            cursor.execute("BEGIN IMMEDIATE")
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchmany(ROWS_PER_TRIP) if cursor.description else []
    except BaseException:
        cursor.close()
        raise
    remaining = cursor if len(rows) == ROWS_PER_TRIP else None
    outcome = cursor.description, cursor.rowcount, cursor.lastrowid, rows, connection.in_transaction, remaining
    if remaining is None:
        cursor.close()
    return outcome


def _more(cursor: sqlite3.Cursor) -> list[Any]:
    """On the connection's thread: the next rows of a statement; the cursor is closed once they run out."""
    rows = cursor.fetchmany(ROWS_PER_TRIP)
    if len(rows) < ROWS_PER_TRIP:
        cursor.close()
    return rows


class StatementCursor:
    """A cursor whose ``execute`` runs the statement and fetches its first rows in one trip; fetching them is
    local, and only a result of more than ``ROWS_PER_TRIP`` rows costs further trips."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self._remaining: sqlite3.Cursor | None = None
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
        await self.close()
        connection = self._connection
        begin, connection.begin_pending = connection.begin_pending, False
        try:
            trip = connection._execute(_run, connection._conn, sql, parameters, many, begin)  # type: ignore[no-untyped-call]
            outcome: Outcome = await trip
        except BaseException:
            connection.in_transaction = True  # unknown after a failure: a rollback must not be skipped
            raise
        self.description, self.rowcount, self.lastrowid, rows, connection.in_transaction, self._remaining = outcome
        self._rows = deque(rows)

    async def _fill(self, wanted: int | None) -> None:
        """Fetch further rows of the statement until ``wanted`` are buffered (all when None) or none remain."""
        while self._remaining is not None and (wanted is None or len(self._rows) < wanted):
            rows: list[Any] = await self._connection._execute(_more, self._remaining)  # type: ignore[no-untyped-call]
            self._rows.extend(rows)
            if len(rows) < ROWS_PER_TRIP:
                self._remaining = None

    async def fetchone(self) -> Any:
        await self._fill(1)
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        wanted = self.arraysize if size is None else size
        await self._fill(wanted)
        return [self._rows.popleft() for _ in range(min(wanted, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        await self._fill(None)
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()
        if self._remaining is not None:
            remaining, self._remaining = self._remaining, None
            await self._connection._execute(remaining.close)  # type: ignore[no-untyped-call]


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
        await self._end(super().commit)

    async def rollback(self) -> None:
        await self._end(super().rollback)

    async def _end(self, end: Callable[[], Awaitable[None]]) -> None:
        self.begin_pending = False
        if self.in_transaction:
            await end()
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
