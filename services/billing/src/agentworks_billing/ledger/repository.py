"""Ledger writes (each idempotent by its unique key) and the sums budgets and alerts need."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agentworks_platform.db import insert_ignoring_conflicts
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.models import Budget, BudgetNotice, CostAlert, RunCharge, UsageRecord

TRAILING_DAYS = 7


async def add_usage(session: AsyncSession, values: dict[str, Any]) -> bool:
    return await insert_ignoring_conflicts(session, UsageRecord.__table__, values)  # type: ignore[arg-type]


async def add_charge(session: AsyncSession, values: dict[str, Any]) -> bool:
    """One charge per run: a second settlement of the same run (any event id) is ignored.

    ``ON CONFLICT DO NOTHING`` without a target covers both keys, the run (primary) and the event id."""
    return await insert_ignoring_conflicts(session, RunCharge.__table__, values)  # type: ignore[arg-type]


async def add_notice(session: AsyncSession, values: dict[str, Any]) -> bool:
    return await insert_ignoring_conflicts(session, BudgetNotice.__table__, values)  # type: ignore[arg-type]


async def add_cost_alert(session: AsyncSession, values: dict[str, Any]) -> bool:
    return await insert_ignoring_conflicts(session, CostAlert.__table__, values)  # type: ignore[arg-type]


async def budgets_for(session: AsyncSession, workspace_id: uuid.UUID, project_id: uuid.UUID) -> list[Budget]:
    query = select(Budget).where(Budget.workspace_id == workspace_id, Budget.scope_id.in_([workspace_id, project_id]))
    return list(await session.scalars(query))


async def spent(session: AsyncSession, workspace_id: uuid.UUID, project_id: uuid.UUID | None, period: str) -> Decimal:
    """Charges of a workspace (or one of its projects) in a period."""
    query = select(func.coalesce(func.sum(RunCharge.price), 0)).where(
        RunCharge.workspace_id == workspace_id, RunCharge.period == period
    )
    if project_id is not None:
        query = query.where(RunCharge.project_id == project_id)
    return Decimal(await session.scalar(query) or 0)


async def day_and_trailing_cost(session: AsyncSession, workspace_id: uuid.UUID, day: date) -> tuple[Decimal, Decimal]:
    """Provider cost on ``day`` and in the seven days before it."""
    start = day - timedelta(days=TRAILING_DAYS)
    query = select(
        func.coalesce(func.sum(case((UsageRecord.day == day, UsageRecord.cost), else_=0)), 0),
        func.coalesce(func.sum(case((UsageRecord.day < day, UsageRecord.cost), else_=0)), 0),
    ).where(UsageRecord.workspace_id == workspace_id, UsageRecord.day >= start, UsageRecord.day <= day)
    today, trailing = (await session.execute(query)).one()
    return Decimal(today), Decimal(trailing)
