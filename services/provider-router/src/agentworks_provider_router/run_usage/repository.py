"""A run's provider calls summed in one row, added to in the transaction that records each call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from agentworks_platform.clock import utc_now
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_provider_router.models import COST_PLACES, run_usage


@dataclass(frozen=True, slots=True)
class RunSpend:
    """Every provider call recorded for a run: how many, their tokens and their cost."""

    provider_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)


async def add(session: AsyncSession, run_id: uuid.UUID, call: RunSpend) -> None:
    """Count one recorded call towards its run (created with the run's first call)."""
    row = {
        "run_id": run_id,
        "provider_calls": call.provider_calls,
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "cost_units": int(call.cost.scaleb(COST_PLACES)),
        "updated_at": utc_now(),
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql_insert(run_usage) if dialect == "postgresql" else sqlite_insert(run_usage)
    statement = insert.values(row)
    summed = {
        name: run_usage.c[name] + statement.excluded[name]
        for name in ("provider_calls", "input_tokens", "output_tokens", "cost_units")
    }
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[run_usage.c.run_id], set_={**summed, "updated_at": statement.excluded.updated_at}
        )
    )


async def spend_of(session: AsyncSession, run_id: uuid.UUID) -> RunSpend:
    """What the run's recorded calls add up to (nothing for a run that made none)."""
    found = (await session.execute(select(run_usage).where(run_usage.c.run_id == run_id))).one_or_none()
    if found is None:
        return RunSpend()
    return RunSpend(
        provider_calls=found.provider_calls,
        input_tokens=found.input_tokens,
        output_tokens=found.output_tokens,
        cost=Decimal(found.cost_units).scaleb(-COST_PLACES),
    )
