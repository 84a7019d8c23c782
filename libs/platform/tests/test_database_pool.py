"""The test databases' pool: a PostgreSQL database a test is done with comes back to the next test in its template's
state (rows, sequences, no session left on it), or is replaced by a new copy when a test changed its schema."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from agentworks_platform.testing import Templates, create_database

TEMPLATE_SCHEMA = (
    "CREATE TABLE team (id serial PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE member (id serial PRIMARY KEY, team int NOT NULL REFERENCES team)",
    "INSERT INTO team (name) VALUES ('seeded')",
)


def _conninfo(admin: str, url: str) -> str:
    return psycopg.conninfo.make_conninfo(admin, dbname=url.rsplit("/", 1)[-1])


def _run(admin: str, url: str, *statements: str) -> list[tuple[Any, ...]]:
    """Runs ``statements`` in one transaction on ``url``'s database; the last one's rows."""
    rows: list[tuple[Any, ...]] = []
    with psycopg.connect(_conninfo(admin, url)) as connection:
        for statement in statements:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


@pytest.fixture
def template(postgres_admin: str, templates: Templates) -> str:
    url = create_database(postgres_admin, flush_commits=False)
    _run(postgres_admin, url, *TEMPLATE_SCHEMA)
    templates.keep(postgres_admin, url)
    return url


def test_a_used_database_comes_back_with_the_templates_rows_and_sequences_and_no_session(
    postgres_admin: str, templates: Templates, template: str
) -> None:
    used = templates.copy(template, postgres_admin)
    assert _run(postgres_admin, used, "SELECT id, name FROM team") == [(1, "seeded")]
    leaked = psycopg.connect(_conninfo(postgres_admin, used), autocommit=True)  # a session the test leaves open
    leaked.execute("INSERT INTO team (name) VALUES ('added'), ('more')")
    leaked.execute("INSERT INTO member (team) VALUES (2), (3)")
    templates.release(postgres_admin, used)

    again = templates.copy(template, postgres_admin)

    assert again == used  # the same database, not a new copy
    with pytest.raises(psycopg.OperationalError):
        leaked.execute("SELECT 1")  # its session was ended
    leaked.close()
    assert _run(postgres_admin, again, "SELECT id, name FROM team") == [(1, "seeded")]
    assert _run(postgres_admin, again, "SELECT count(*) FROM member") == [(0,)]
    assert _run(postgres_admin, again, "INSERT INTO team (name) VALUES ('next') RETURNING id") == [(2,)]
    assert _run(postgres_admin, again, "INSERT INTO member (team) VALUES (2) RETURNING id") == [(1,)]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # the foreign keys hold again
        _run(postgres_admin, again, "INSERT INTO member (team) VALUES (99)")


def test_databases_in_use_at_once_are_distinct(postgres_admin: str, templates: Templates, template: str) -> None:
    first, second = templates.copy(template, postgres_admin), templates.copy(template, postgres_admin)
    assert first != second
    templates.release(postgres_admin, first)
    assert templates.copy(template, postgres_admin) == first
    assert templates.copy(template, postgres_admin) not in (first, second)


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE team ADD COLUMN colour text",
        "CREATE INDEX team_by_name ON team (name)",
        "ALTER TABLE team ENABLE ROW LEVEL SECURITY",
        "CREATE TYPE mood AS ENUM ('calm')",
        "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'",
        "CREATE SCHEMA extra",
        "GRANT SELECT ON team TO PUBLIC",
    ],
)
def test_a_database_whose_schema_a_test_changed_is_replaced_by_a_new_copy(
    postgres_admin: str, templates: Templates, template: str, change: str
) -> None:
    used = templates.copy(template, postgres_admin)
    _run(postgres_admin, used, change)
    templates.release(postgres_admin, used)

    fresh = templates.copy(template, postgres_admin)

    assert fresh != used
    assert _run(postgres_admin, fresh, "SELECT id, name FROM team") == [(1, "seeded")]
    assert _run(postgres_admin, fresh, "SELECT count(*) FROM pg_indexes WHERE indexname = 'team_by_name'") == [(0,)]


def test_an_empty_database_comes_back_empty_whatever_a_test_made_in_it(
    postgres_admin: str, templates: Templates
) -> None:
    used = templates.postgres(None, postgres_admin)
    _run(postgres_admin, used, *TEMPLATE_SCHEMA, "CREATE SCHEMA extra", "CREATE TABLE extra.note (body text)")
    templates.release(postgres_admin, used)

    again = templates.postgres(None, postgres_admin)

    assert again == used
    relations = "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    relations += "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
    assert _run(postgres_admin, again, relations) == [(0,)]
    schemas = "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
    assert _run(postgres_admin, again, schemas) == [("public",)]
    assert _run(postgres_admin, again, *TEMPLATE_SCHEMA, "SELECT name FROM team") == [("seeded",)]
