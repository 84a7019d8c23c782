"""Plans (markup and increment, applied to runs started after a change) and monthly budgets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from agentworks_events import utc_now
from agentworks_events.money import MINIMUM_MARKUP
from agentworks_platform.errors import AppError, NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.accounts import repository
from agentworks_billing.config import BillingSettings
from agentworks_billing.ledger.budgets import NO_PROJECT, BudgetWatch
from agentworks_billing.models import BillingAccount, Budget


def current_period() -> str:
    return utc_now().strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class Plan:
    markup: Decimal
    increment: Decimal
    custom: bool


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: Budget
    period: str
    spent: Decimal
    warning_ratio: Decimal

    @property
    def state(self) -> str:
        if self.spent >= self.budget.monthly_cap:
            return "exceeded"
        return "warning" if self.spent >= self.budget.monthly_cap * self.warning_ratio else "ok"


async def plan(session: AsyncSession, settings: BillingSettings, workspace_id: uuid.UUID) -> Plan:
    account = await repository.account(session, workspace_id)
    if account is None or account.markup is None or account.increment is None:
        return Plan(settings.default_markup, settings.default_increment, custom=False)
    return Plan(account.markup, account.increment, custom=True)


async def markup(session: AsyncSession, settings: BillingSettings, workspace_id: uuid.UUID) -> Decimal:
    """The markup calls made with the workspace's API keys are charged with."""
    return (await plan(session, settings, workspace_id)).markup


async def set_plan(session: AsyncSession, workspace_id: uuid.UUID, markup: Decimal, increment: Decimal) -> Plan:
    if markup < MINIMUM_MARKUP:
        raise AppError(f"The markup cannot be below {MINIMUM_MARKUP}×.", code="invalid_plan", status_code=422)
    account = await repository.account(session, workspace_id)
    if account is None:
        account = BillingAccount(workspace_id=workspace_id, markup=markup, increment=increment, updated_at=utc_now())
        session.add(account)
    account.markup, account.increment, account.updated_at = markup, increment, utc_now()
    return Plan(markup, increment, custom=True)


async def _status(session: AsyncSession, watch: BudgetWatch, budget: Budget, period: str) -> BudgetStatus:
    return BudgetStatus(budget, period, await watch.spent(session, budget, period), watch.warning_ratio)


async def budgets(session: AsyncSession, watch: BudgetWatch, workspace_id: uuid.UUID) -> list[BudgetStatus]:
    period = current_period()
    return [await _status(session, watch, budget, period) for budget in await repository.budgets(session, workspace_id)]


async def workspace_budget(session: AsyncSession, watch: BudgetWatch, workspace_id: uuid.UUID) -> BudgetStatus | None:
    """The workspace's own budget this period (what calls made with its API keys count towards), if any."""
    budget = await repository.budget(session, workspace_id)
    if budget is None or budget.workspace_id != workspace_id:
        return None
    return await _status(session, watch, budget, current_period())


async def set_budget(
    session: AsyncSession,
    watch: BudgetWatch,
    workspace_id: uuid.UUID,
    project_id: uuid.UUID | None,
    cap: Decimal,
    user_id: uuid.UUID,
) -> BudgetStatus:
    """Set a cap; the orchestrator hears of it at once, and notices due under the new cap are sent."""
    scope_id = project_id or workspace_id
    budget = await repository.budget(session, scope_id)
    if budget is None:
        budget = Budget(scope_id=scope_id, workspace_id=workspace_id, project_id=project_id, monthly_cap=cap)
        session.add(budget)
    budget.monthly_cap, budget.updated_by, budget.updated_at = cap, user_id, utc_now()
    await session.flush()
    period = current_period()
    await watch.changed(session, budget, cap, period, NO_PROJECT)
    await watch.evaluate(session, budget, period, NO_PROJECT)
    return await _status(session, watch, budget, period)


async def remove_budget(
    session: AsyncSession, watch: BudgetWatch, workspace_id: uuid.UUID, project_id: uuid.UUID | None
) -> None:
    scope_id = project_id or workspace_id
    budget = await repository.budget(session, scope_id)
    if budget is None or budget.workspace_id != workspace_id:
        raise NotFound("There is no such budget.")
    await watch.changed(session, budget, None, current_period(), NO_PROJECT)
    await repository.remove_budget(session, scope_id)
