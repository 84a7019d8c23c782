"""Accounts, plans and budgets queries."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.models import BillingAccount, Budget


async def account(session: AsyncSession, workspace_id: uuid.UUID) -> BillingAccount | None:
    return await session.get(BillingAccount, workspace_id)


async def budgets(session: AsyncSession, workspace_id: uuid.UUID) -> list[Budget]:
    query = select(Budget).where(Budget.workspace_id == workspace_id).order_by(Budget.project_id.is_not(None))
    return list(await session.scalars(query))


async def budget(session: AsyncSession, scope_id: uuid.UUID) -> Budget | None:
    return await session.get(Budget, scope_id)


async def remove_budget(session: AsyncSession, scope_id: uuid.UUID) -> None:
    await session.execute(delete(Budget).where(Budget.scope_id == scope_id))
