"""Async SQLAlchemy: one engine per service, one transaction per request or message."""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, bindparam, cast, event, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Select

from agentworks_platform import sqlite_driver
from agentworks_platform.errors import Unavailable

AfterCommit = Callable[[], Awaitable[None]]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Declarative base for services that do not need their own metadata."""

    metadata = new_metadata()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver so every transaction can begin IMMEDIATE (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock up front: a deferred transaction that later writes fails with
    "database is locked" under concurrency instead of waiting for the busy timeout. The driver sends the
    ``BEGIN IMMEDIATE`` with the transaction's first statement."""
    connection.connection.driver_connection.begin_immediate()


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """How many PostgreSQL connections one process may hold, and how long a request waits for one.

    Every instance of every service opens up to ``size + overflow`` connections; the deploy sizes them so
    that instances × connections fit the server's ``max_connections`` (docs/decisions/0006)."""

    size: int = 5
    overflow: int = 2
    timeout_seconds: float = 5.0


class DatabaseBusy(Unavailable):
    """503: no database connection could be had in time (pool exhausted or server out of connections)."""

    code = "database_busy"

    def __init__(self) -> None:
        super().__init__("The database is busy; retry shortly.", retry_after=1)


# SQLSTATE classes a server uses to turn a connection away: 08 connection exception, 53 insufficient resources
# ("too many clients"), 57P03 cannot connect now (starting or shutting down).
_REFUSED_CONNECTION = ("08", "53", "57P03")


def is_connection_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` means the request got no connection at all (so nothing of it can have been written)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, OperationalError):
        return False
    # psycopg's errors carry ``sqlstate``: None when the client failed to connect or lost the connection,
    # else the server's code. SQLite's errors have no such attribute and are not connection refusals.
    sqlstate = getattr(exc.orig, "sqlstate", "")
    return sqlstate is None or str(sqlstate).startswith(_REFUSED_CONNECTION)


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is an insert that met an existing key (PostgreSQL's 23505, SQLite's UNIQUE constraint)."""
    if not isinstance(exc, IntegrityError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return str(sqlstate) == "23505"
    return "UNIQUE constraint failed" in str(exc.orig)


async def saved_unless_taken(session: AsyncSession, row: object, **values: object) -> bool:
    """Write ``row``, new or with ``values`` set, in a savepoint: False, with nothing written, when a unique key it
    holds was taken first by another row."""
    savepoint = await session.begin_nested()
    try:
        for field, value in values.items():
            setattr(row, field, value)
        session.add(row)
        await session.flush()
    except IntegrityError as exc:
        await savepoint.rollback()
        if is_unique_violation(exc):
            return False
        raise
    await savepoint.commit()
    return True


# PostgreSQL's answers to two transactions that got in each other's way: serialization failure, deadlock detected.
_TRANSIENT_CONFLICTS = ("40001", "40P01")


def is_transient_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL giving up one of two colliding transactions, which succeeds when run again."""
    return isinstance(exc, DBAPIError) and str(getattr(exc.orig, "sqlstate", "")) in _TRANSIENT_CONFLICTS


def create_engine(url: str, pool: PoolLimits = PoolLimits()) -> AsyncEngine:
    """An async engine with the pragmas or pool settings the backend needs."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 10}, module=sqlite_driver.dbapi())
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    return create_async_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=pool.timeout_seconds,
        pool_pre_ping=True,
    )


class Database:
    """Owns the engine and hands out transactions; after-commit hooks run only once the commit held.

    On PostgreSQL with ``app_role`` set, every transaction runs ``SET LOCAL ROLE app_role`` so row-level
    security applies even when the connection's user owns the tables.
    """

    def __init__(self, url: str, pool: PoolLimits = PoolLimits(), app_role: str | None = None) -> None:
        self.url = url
        self.engine = create_engine(url, pool)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.is_postgres = not is_sqlite(url)
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        if app_role and self.is_postgres:
            event.listen(self.engine.sync_engine, "begin", _set_role(app_role))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on any error; then run hooks registered with ``after_commit``."""
        try:
            async with self._turn(), self.sessions() as session:
                async with session.begin():
                    yield session
                hooks: list[AfterCommit] = session.info.pop("after_commit", [])
        except (PoolTimeout, OperationalError) as exc:
            if is_connection_refusal(exc):
                raise DatabaseBusy from exc
            raise
        for hook in hooks:
            await hook()

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """On SQLite, transactions of this process take turns (each holds the one write lock from its
        first statement): waiting here is first come, first served, where SQLite's busy handler would
        poll with sleeps of up to 100 ms and let a waiter starve."""
        if self.is_postgres:
            yield
            return
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = asyncio.Lock()
        async with turn:
            yield

    async def dispose(self) -> None:
        await self.engine.dispose()


def _set_role(role: str) -> Any:
    if not role.replace("_", "").isalnum():
        raise ValueError(f"invalid role name {role!r}")

    def set_role(connection: Any) -> None:
        connection.exec_driver_sql(f"SET LOCAL ROLE {role}")

    return set_role


async def set_tenant(
    session: AsyncSession, *, workspace_id: object = None, user_id: object = None, email: str = ""
) -> None:
    """Scope row-level security for the rest of this transaction (PostgreSQL; a no-op on SQLite)."""
    if not _on_postgres(session):
        return
    await session.execute(
        text(
            "SELECT set_config('app.workspace_id', :workspace, true), set_config('app.user_id', :user, true), "
            "set_config('app.user_email', :email, true)"
        ),
        {"workspace": str(workspace_id or ""), "user": str(user_id or ""), "email": email},
    )


async def commit_without_waiting(session: AsyncSession) -> None:
    """Let this transaction's commit return before its WAL record reaches the disk (PostgreSQL's
    ``synchronous_commit = off``): for bookkeeping that a crash may lose, never for business records."""
    if _on_postgres(session):
        await session.execute(text("SET LOCAL synchronous_commit = off"))


def locks_rows(session: AsyncSession) -> bool:
    """Whether ``SELECT … FOR UPDATE`` means anything here (PostgreSQL); SQLite transactions are exclusive."""
    return _on_postgres(session)


def _on_postgres(session: AsyncSession) -> bool:
    return _dialect(session) == "postgresql"


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run ``hook`` after the session's transaction commits; never if it rolls back."""
    session.info.setdefault("after_commit", []).append(hook)


async def insert_ignoring_conflicts(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted (False: it already existed)."""
    result = await session.execute(_insert_ignoring(table, _dialect(session)), values)
    return result.first() is not None


async def insert_many_ignoring_conflicts(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], returning: str
) -> list[Any]:
    """INSERT … ON CONFLICT DO NOTHING for many rows, sent in as few statements as the driver allows.

    Returns the ``returning`` column of the rows inserted; rows that already existed (or repeat an
    earlier row of ``rows``) are left out. Every row must name the same columns."""
    if not rows:
        return []
    if _on_postgres(session):
        columns = tuple(rows[0])
        arrays = {name: [row[name] for row in rows] for name in columns}
        result = await session.execute(_insert_unnested(table, columns, returning), arrays)
    else:
        result = await session.execute(_insert_ignoring(table, "sqlite", returning), list(rows))
    return list(result.scalars())


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@functools.cache
def _insert_unnested(table: Table, columns: tuple[str, ...], returning: str) -> Any:
    """PostgreSQL: ``INSERT … SELECT * FROM unnest(<one array per column>)``. The text is the same for any
    number of rows, so neither SQLAlchemy nor the driver re-parses a statement of thousands of parameters."""
    arrays = [cast(bindparam(name, type_=ARRAY(table.c[name].type)), ARRAY(table.c[name].type)) for name in columns]
    rows: Select[Any] = select(literal_column("*")).select_from(func.unnest(*arrays))
    statement = postgresql_insert(table).from_select(list(columns), rows)
    return statement.on_conflict_do_nothing().returning(table.c[returning])


@functools.cache
def _insert_ignoring(table: Table, dialect: str, returning: str | None = None) -> Any:
    """One statement per table, its values bound at execution: building and hashing a statement that
    embeds the values costs more than the insert on a busy consumer."""
    statement = postgresql_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    column = table.c[returning] if returning else next(iter(table.primary_key.columns))
    return statement.on_conflict_do_nothing().returning(column)
