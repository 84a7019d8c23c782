"""Aggregates over the ledger; metering (provider calls) and charges (runs) are grouped separately."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.models import RunCharge, UsageRecord

METERING_KEYS: dict[str, ColumnElement[Any]] = {
    "day": UsageRecord.day,  # type: ignore[dict-item]
    "provider": UsageRecord.provider,  # type: ignore[dict-item]
    "model": UsageRecord.model,  # type: ignore[dict-item]
    "agent": UsageRecord.agent,  # type: ignore[dict-item]
    "project": UsageRecord.project_id,  # type: ignore[dict-item]
    "card": UsageRecord.card_id,  # type: ignore[dict-item]
}
CHARGE_KEYS: dict[str, ColumnElement[Any]] = {
    "day": RunCharge.day,  # type: ignore[dict-item]
    "agent": RunCharge.agent,  # type: ignore[dict-item]
    "project": RunCharge.project_id,  # type: ignore[dict-item]
    "card": RunCharge.card_id,  # type: ignore[dict-item]
}


def _metering_columns() -> list[Any]:
    return [
        func.count().label("provider_calls"),
        func.coalesce(func.sum(UsageRecord.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(UsageRecord.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(UsageRecord.images), 0).label("images"),
        func.coalesce(func.sum(UsageRecord.cost), 0).label("cost"),
    ]


def _charge_columns() -> list[Any]:
    return [func.count().label("runs"), func.coalesce(func.sum(RunCharge.price), 0).label("price")]


async def metering(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date, key: str | None
) -> list[dict[str, Any]]:
    columns = _metering_columns()
    query = select(*columns).where(
        UsageRecord.workspace_id == workspace_id, UsageRecord.day >= start, UsageRecord.day <= end
    )
    if key is not None:
        query = query.add_columns(METERING_KEYS[key].label("key")).group_by(METERING_KEYS[key])
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def charges(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date, key: str | None
) -> list[dict[str, Any]]:
    query = select(*_charge_columns()).where(
        RunCharge.workspace_id == workspace_id, RunCharge.day >= start, RunCharge.day <= end
    )
    if key is not None:
        query = query.add_columns(CHARGE_KEYS[key].label("key")).group_by(CHARGE_KEYS[key])
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def charge_rows(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date
) -> AsyncIterator[RunCharge]:
    query = (
        select(RunCharge)
        .where(RunCharge.workspace_id == workspace_id, RunCharge.day >= start, RunCharge.day <= end)
        .order_by(RunCharge.occurred_at, RunCharge.run_id)
        .execution_options(yield_per=500)
    )
    async for charge in await session.stream_scalars(query):
        yield charge
