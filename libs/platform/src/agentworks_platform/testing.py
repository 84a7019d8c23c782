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
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
from psycopg import sql

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


def _conninfo(admin: str, url: str) -> str:
    return psycopg.conninfo.make_conninfo(admin, dbname=url.rsplit("/", 1)[-1])


_USER_SCHEMAS = sql.SQL(
    "WITH ns AS (SELECT oid, nspname FROM pg_namespace "
    "WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%') {}"
)

# Everything of a database a test could change besides its rows and sequence positions: its schemas, relations
# (kind, persistence, row security, grants), columns and their defaults, constraints, indexes, triggers, policies,
# functions, types, enum labels, extensions and settings.
_SCHEMA_DIGEST = _USER_SCHEMAS.format(
    sql.SQL("""SELECT md5(coalesce(string_agg(item, E'\n' ORDER BY item), '')) FROM (
  SELECT 'schema ' || nspname AS item FROM ns
  UNION ALL SELECT format('relation %s %s %s %s %s %s', c.oid::regclass, c.relkind, c.relpersistence,
      c.relrowsecurity, c.relforcerowsecurity, c.relacl) FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  UNION ALL SELECT format('column %s %s %s %s %s', a.attrelid::regclass, a.attname,
      format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT format('constraint %s %s %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_constraint k JOIN ns ON ns.oid = k.connamespace
  UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
  UNION ALL SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT t.tgisinternal
  UNION ALL SELECT format('policy %s %s %s %s %s', p.polrelid::regclass, p.polname, p.polcmd,
      pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)) FROM pg_policy p
  UNION ALL SELECT format('function %s %s', f.oid::regprocedure, md5(f.prosrc))
    FROM pg_proc f JOIN ns ON ns.oid = f.pronamespace
  UNION ALL SELECT format('type %s %s', t.oid::regtype, t.typtype) FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
  UNION ALL SELECT format('label %s %s %s', e.enumtypid::regtype, e.enumsortorder, e.enumlabel) FROM pg_enum e
  UNION ALL SELECT 'extension ' || x.extname FROM pg_extension x
  UNION ALL SELECT 'setting ' || array_to_string(s.setconfig, ',') FROM pg_db_role_setting s
    WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) items""")
)
_TABLES = _USER_SCHEMAS.format(
    sql.SQL(
        "SELECT nspname, relname FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind = 'r' ORDER BY 1, 2"
    )
)
_RELATIONS = _USER_SCHEMAS.format(sql.SQL("SELECT count(*) FROM pg_class c JOIN ns ON ns.oid = c.relnamespace"))
_SCHEMAS = _USER_SCHEMAS.format(sql.SQL("SELECT nspname FROM ns"))
_SEQUENCES = "SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, start_value), last_value "
_SEQUENCES += "IS NOT NULL FROM pg_sequences ORDER BY 1"


def _tables(connection: psycopg.Connection[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """Every table of the database, as (schema, name)."""
    return [(str(schema), str(name)) for schema, name in connection.execute(_TABLES).fetchall()]


def _schema_digest(connection: psycopg.Connection[tuple[Any, ...]]) -> str:
    row = connection.execute(_SCHEMA_DIGEST).fetchone()
    return str(row[0]) if row else ""


@dataclass(frozen=True)
class Snapshot:
    """A template database's schema (as a digest), rows and sequence positions, taken once: a database copied from
    the template is put back in the template's state by deleting its rows and writing the template's back, some
    milliseconds where a new copy costs ~0.4 s (``CREATE DATABASE`` syncs every file of the copy to the disk)."""

    digest: str
    rows: dict[tuple[str, str], bytes]
    sequences: tuple[tuple[str, int, bool], ...]
    empty: bool  # the template has no table, view or sequence

    @classmethod
    def of(cls, conninfo: str) -> Snapshot:
        rows: dict[tuple[str, str], bytes] = {}
        with psycopg.connect(conninfo) as connection:
            for table in _tables(connection):
                name = sql.Identifier(*table)
                if connection.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(name)).fetchone() != (True,):
                    continue  # an empty table has nothing to write back
                with connection.cursor().copy(sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(name)) as copy:
                    rows[table] = b"".join(bytes(block) for block in copy)
            sequences = tuple((str(n), int(v), bool(c)) for n, v, c in connection.execute(_SEQUENCES).fetchall())
            empty = connection.execute(_RELATIONS).fetchone() == (0,)
            return cls(_schema_digest(connection), rows, sequences, empty)

    def restore(self, conninfo: str) -> bool:
        """Puts the database at ``conninfo`` (nothing connected to it) back in the template's state, in one
        transaction; False when its schema is no longer the template's (a test changed it): it is left as it was.

        A database whose template is empty (no schema but ``public``) is emptied whatever a test made in it."""
        with psycopg.connect(conninfo) as connection:
            if _schema_digest(connection) != self.digest and self.empty:
                for (schema,) in connection.execute(_SCHEMAS).fetchall():
                    connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
                connection.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
                connection.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
            if _schema_digest(connection) != self.digest:
                connection.rollback()
                return False
            connection.execute("SET LOCAL session_replication_role = replica")  # no foreign key or trigger fires
            for table in _tables(connection):
                connection.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(*table)))
            for table, data in self.rows.items():
                with connection.cursor().copy(
                    sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(*table))
                ) as copy:
                    copy.write(data)
            for sequence, value, called in self.sequences:
                connection.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))
        return True


def _disconnect_all(admin: str, url: str) -> bool:
    """Ends every session on ``url``'s database (a test's leaked connection); False if one outlives five seconds."""
    with psycopg.connect(admin, autocommit=True) as connection:
        ended = connection.execute(
            "SELECT bool_and(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.rsplit("/", 1)[-1],),
        ).fetchone()
    return ended is None or ended[0] is not False


class Templates:
    """Migrated template databases, made once per session, and the databases copied from them for each test.

    SQLite templates are copied as files. A PostgreSQL database a test is done with goes back to its template's pool
    and is put back in the template's state (``Snapshot``) for the next test that asks for one; one that cannot be
    (a test changed its schema, or a session on it will not end) is dropped and a new copy made instead.
    """

    def __init__(self, root: Path, dropper: DatabaseDropper) -> None:
        self.root = root
        self.dropper = dropper
        self.made: dict[tuple[str, Path | None], str] = {}
        self._template_of: dict[str, str] = {}
        self._used: dict[str, list[str]] = {}
        self._snapshots: dict[str, Snapshot] = {}

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
        gone = {url for key, url in self.made.items() if key[0] == admin}
        self.made = {key: url for key, url in self.made.items() if key[0] != admin}
        self._template_of = {url: template for url, template in self._template_of.items() if template not in gone}
        self._used = {template: urls for template, urls in self._used.items() if template not in gone}
        self.dropper.forget(admin)

    def postgres(self, migrations: Path | None, admin: str) -> str:
        """A database of its own for a test, with ``migrations`` applied (``None``: an empty one); ``release`` it."""
        key = (admin, migrations)  # a test module may use a server of its own
        if key not in self.made:
            url = create_database(admin, flush_commits=False)
            if migrations is not None:
                upgrade(migrations, url)
            self.made[key] = url
        return self.copy(self.made[key], admin)

    def copy(self, template_url: str, admin: str) -> str:
        """A database in the state of the template at ``template_url`` (one of these templates, or one a test made
        and ``keep``s): a used one put back, or else a new copy; ``release`` it after the test."""
        used = self._used.setdefault(template_url, [])
        while used:
            url = used.pop()
            if _disconnect_all(admin, url) and self._snapshot(admin, template_url).restore(_conninfo(admin, url)):
                return url
            self._template_of.pop(url)
            self.dropper.drop(admin, url)
        url = copy_postgres(template_url, admin)
        self._template_of[url] = template_url
        return url

    def release(self, admin: str, url: str) -> None:
        """The test is done with ``url``: it goes back to its template's pool (dropped at the session's end)."""
        template = self._template_of.get(url)
        if template is None:
            self.dropper.drop(admin, url)
        else:
            self._used[template].append(url)

    def keep(self, admin: str, url: str) -> None:
        """Drop ``url``, a template a test made itself (a seeded database), with the session's templates."""
        self._template_of.pop(url, None)
        self.made[(admin, Path(url))] = url

    def drop_templates(self) -> None:
        """Hands every PostgreSQL template, and every database copied from one, still on a live server to the
        dropper."""
        admins = {url: admin for (admin, _), url in self.made.items() if admin != "sqlite"}
        for url, admin in admins.items():
            self.dropper.drop(admin, url)
            for copied in self._used.get(url, []):
                self.dropper.drop(admin, copied)

    def _snapshot(self, admin: str, template_url: str) -> Snapshot:
        if template_url not in self._snapshots:
            self._snapshots[template_url] = Snapshot.of(_conninfo(admin, template_url))
        return self._snapshots[template_url]
