"""Run queries."""

from __future__ import annotations

import uuid
from datetime import datetime

from agentworks_platform.db import locks_rows
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_orchestrator.models import NOT_STARTED, TERMINAL, BudgetState, Run, RunCheckpoint
from agentworks_orchestrator.runs.loop import Resume


async def run_for_update(session: AsyncSession, run_id: uuid.UUID) -> Run | None:
    query = select(Run).where(Run.id == run_id).execution_options(populate_existing=True)
    if locks_rows(session):
        query = query.with_for_update()
    return await session.scalar(query)


async def started_since(session: AsyncSession, workspace_id: uuid.UUID, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(Run)
        .where(Run.workspace_id == workspace_id, Run.created_at >= since, Run.status.not_in(NOT_STARTED))
    )
    return int(await session.scalar(query) or 0)


async def budget_exceeded(session: AsyncSession, workspace_id: uuid.UUID, project_id: uuid.UUID, period: str) -> bool:
    query = select(BudgetState).where(
        BudgetState.scope_id.in_([workspace_id, project_id]),
        BudgetState.workspace_id == workspace_id,
        BudgetState.period == period,
        BudgetState.exceeded.is_(True),
    )
    return (await session.scalar(query.limit(1))) is not None


async def release_lease(session: AsyncSession, run_id: uuid.UUID, owner: str) -> None:
    """Clear the lease ``owner`` holds on an unfinished run."""
    await session.execute(
        update(Run)
        .where(Run.id == run_id, Run.lease_owner == owner, Run.status.not_in(TERMINAL))
        .values(lease_owner=None, lease_until=None)
    )


async def last_checkpoint(session: AsyncSession, run_id: uuid.UUID) -> Resume:
    """Where a tool-using run resumes: after its newest checkpointed step (from the start when it has none)."""
    query = select(RunCheckpoint).where(RunCheckpoint.run_id == run_id).order_by(RunCheckpoint.step.desc())
    checkpoint = await session.scalar(query.limit(1))
    if checkpoint is None:
        return Resume()
    return Resume(checkpoint.step, tuple(checkpoint.messages), checkpoint.elapsed_ms)
