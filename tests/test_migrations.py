"""Each service's migrations build exactly the schema its models describe (no drift either way)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agentworks_localstack.fleet import FLEET, ServiceSpec
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def _drift(connection: Connection, metadata: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("spec", FLEET, ids=[spec.name for spec in FLEET])
async def test_migrations_match_the_models(
    spec: ServiceSpec, migrated_database: Callable[[Path], str], backend: str
) -> None:
    metadata = importlib.import_module(f"{spec.package}.models").metadata
    engine = create_async_engine(migrated_database(spec.migrations))
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(_drift, metadata)
    finally:
        await engine.dispose()
    assert drift == [], f"{spec.name} ({backend}): models and migrations differ: {drift}"
