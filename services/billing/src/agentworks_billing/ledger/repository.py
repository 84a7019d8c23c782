"""Ledger writes (each idempotent by its unique key) and the sums budgets and alerts need."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from agentworks_platform.db import insert_ignoring_conflicts, insert_many_ignoring_conflicts, locks_rows
from sqlalchemy import ColumnElement, Row, Table, case, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.models import AMOUNT_PLACES, Budget, BudgetNotice, CostAlert, RunCharge, UsageRecord

TRAILING_DAYS = 7
AMOUNT_STEP = Decimal(1).scaleb(-AMOUNT_PLACES)


async def add_usages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Metering rows; returns the event ids of those not recorded before."""
    table: Table = UsageRecord.__table__  # type: ignore[assignment]
    return await insert_many_ignoring_conflicts(session, table, rows, "event_id")


async def add_charges(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """One charge per run: a second settlement of the same run (any event id) is ignored. Returns the runs
    charged now.

    ``ON CONFLICT DO NOTHING`` without a target covers both keys, the run (primary) and the event id."""
    table: Table = RunCharge.__table__  # type: ignore[assignment]
    return await insert_many_ignoring_conflicts(session, table, rows, "run_id")


async def run_tenants(
    session: AsyncSession, run_ids: Collection[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]]:
    """(run, workspace, project) of every ledger row already written for these runs (a run's rows name a project)."""
    usage = select(UsageRecord.run_id, UsageRecord.workspace_id, UsageRecord.project_id).where(
        UsageRecord.run_id.in_(run_ids)
    )
    charges = select(RunCharge.run_id, RunCharge.workspace_id, RunCharge.project_id).where(
        RunCharge.run_id.in_(run_ids)
    )
    rows: Sequence[Any] = (await session.execute(union(usage, charges))).all()
    return {(row[0], row[1], row[2]) for row in rows}


async def add_notice(session: AsyncSession, values: dict[str, Any]) -> bool:
    return await insert_ignoring_conflicts(session, BudgetNotice.__table__, values)  # type: ignore[arg-type]


async def add_cost_alert(session: AsyncSession, values: dict[str, Any]) -> bool:
    return await insert_ignoring_conflicts(session, CostAlert.__table__, values)  # type: ignore[arg-type]


async def lock_budgets(session: AsyncSession, scopes: Collection[tuple[uuid.UUID, uuid.UUID | None]]) -> list[Budget]:
    """The budgets of these (workspace, project or None) pairs — each workspace's and each project's — locked in
    scope order on PostgreSQL, so transactions charging the same budget evaluate it one after the other
    and the later one's sum includes the earlier one's charges."""
    workspaces = {workspace for workspace, _ in scopes}
    projects = {project for _, project in scopes if project is not None}
    query = (
        select(Budget)
        .where(Budget.workspace_id.in_(workspaces), Budget.scope_id.in_(workspaces | projects))
        .order_by(Budget.scope_id)
    )
    if locks_rows(session):
        query = query.with_for_update()
    return list(await session.scalars(query))


async def spent(session: AsyncSession, workspace_id: uuid.UUID, project_id: uuid.UUID | None, period: str) -> Decimal:
    """Charges of a workspace (runs and API calls, the latter to the 1e-10 dollar above) or of one of its
    projects (runs) in a period."""
    query = select(func.coalesce(func.sum(RunCharge.price), 0)).where(
        RunCharge.workspace_id == workspace_id, RunCharge.period == period
    )
    if project_id is not None:
        query = query.where(RunCharge.project_id == project_id)
        return Decimal(await session.scalar(query) or 0)
    runs = Decimal(await session.scalar(query) or 0)
    api = await api_charges(session, UsageRecord.workspace_id == workspace_id, UsageRecord.period == period)
    return runs + api.quantize(AMOUNT_STEP, rounding=ROUND_CEILING)


async def api_usage(session: AsyncSession, workspace_id: uuid.UUID, period: str) -> tuple[int, Decimal]:
    """How many calls the workspace's API keys made in the period, and their exact charge."""
    where = (UsageRecord.workspace_id == workspace_id, UsageRecord.period == period)
    calls = await session.scalar(select(func.count()).where(UsageRecord.api_key_id.is_not(None), *where))
    return int(calls or 0), await api_charges(session, *where)


async def api_charges(session: AsyncSession, *where: ColumnElement[bool]) -> Decimal:
    """The exact charge (markup × cost, unrounded) of the calls made with API keys that ``where`` selects."""
    query = (
        select(UsageRecord.markup, func.sum(UsageRecord.cost))
        .where(UsageRecord.api_key_id.is_not(None), *where)
        .group_by(UsageRecord.markup)
    )
    rows = (await session.execute(query)).all()
    return sum((Decimal(markup or 0) * Decimal(cost or 0) for markup, cost in rows), Decimal(0))


async def day_and_trailing_cost(session: AsyncSession, workspace_id: uuid.UUID, day: date) -> tuple[Decimal, Decimal]:
    """Provider cost on ``day`` and in the seven days before it."""
    start = day - timedelta(days=TRAILING_DAYS)
    query = select(
        func.coalesce(func.sum(case((UsageRecord.day == day, UsageRecord.cost), else_=0)), 0),
        func.coalesce(func.sum(case((UsageRecord.day < day, UsageRecord.cost), else_=0)), 0),
    ).where(UsageRecord.workspace_id == workspace_id, UsageRecord.day >= start, UsageRecord.day <= day)
    today, trailing = (await session.execute(query)).one()
    return Decimal(today), Decimal(trailing)


async def cost_alerts_since(session: AsyncSession, workspace_id: uuid.UUID, since: date) -> list[CostAlert]:
    """The workspace's cost-spike alerts from ``since`` on, newest day first."""
    query = (
        select(CostAlert)
        .where(CostAlert.workspace_id == workspace_id, CostAlert.day >= since)
        .order_by(CostAlert.day.desc())
    )
    return list((await session.scalars(query)).all())


async def settled_runs(
    session: AsyncSession, since: datetime, until: datetime
) -> Sequence[Row[uuid.UUID, uuid.UUID, Decimal, Decimal | None]]:
    """Each run charge settled in [since, until): run, workspace, settled cost and its recorded cost (None
    when no provider call was recorded)."""
    recorded = (
        select(UsageRecord.run_id, func.sum(UsageRecord.cost).label("cost"))
        .where(UsageRecord.run_id.is_not(None))
        .group_by(UsageRecord.run_id)
        .subquery()
    )
    charges = (
        select(RunCharge.run_id, RunCharge.workspace_id, RunCharge.cost, recorded.c.cost)
        .outerjoin(recorded, recorded.c.run_id == RunCharge.run_id)
        .where(RunCharge.occurred_at >= since, RunCharge.occurred_at < until)
    )
    return (await session.execute(charges)).all()


async def unsettled_runs(
    session: AsyncSession, since: datetime, before: datetime
) -> Sequence[Row[uuid.UUID | None, uuid.UUID, Decimal]]:
    """Runs with provider calls recorded in [since, before) and no charge: run, workspace, recorded cost."""
    unsettled = (
        select(UsageRecord.run_id, UsageRecord.workspace_id, func.sum(UsageRecord.cost))
        .outerjoin(RunCharge, RunCharge.run_id == UsageRecord.run_id)
        .where(UsageRecord.run_id.is_not(None), RunCharge.run_id.is_(None))
        .where(UsageRecord.occurred_at >= since, UsageRecord.occurred_at < before)
        .group_by(UsageRecord.run_id, UsageRecord.workspace_id)
    )
    return (await session.execute(unsettled)).all()
