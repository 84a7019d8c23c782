"""Budget and plan schemas (the plan and API allowance answers are ``agentworks_internal_api.billing``'s)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from agentworks_events import UtcDateTime
from agentworks_events.money import DEFAULT_INCREMENT, MINIMUM_MARKUP
from agentworks_internal_api.billing import ApiAllowanceOut, PlanOut
from agentworks_platform.money import MoneyOut
from pydantic import Field

from agentworks_billing.accounts.service import BudgetStatus, Plan
from agentworks_billing.schemas import LedgerAmount, PositiveCents, Schema


class BudgetIn(Schema):
    monthly_cap: PositiveCents


class BudgetOut(Schema):
    scope: Literal["workspace", "project"]
    project_id: uuid.UUID | None
    monthly_cap: MoneyOut
    period: str
    spent: MoneyOut
    percent: MoneyOut = Field(description="Spent as a percentage of the cap, two decimals.")
    state: Literal["ok", "warning", "exceeded"]
    updated_at: UtcDateTime

    @classmethod
    def of(cls, status: BudgetStatus) -> BudgetOut:
        budget = status.budget
        return cls(
            scope="project" if budget.project_id else "workspace",
            project_id=budget.project_id,
            monthly_cap=budget.monthly_cap,
            period=status.period,
            spent=status.spent,
            percent=(status.spent * 100 / budget.monthly_cap).quantize(Decimal("0.01")),
            state=status.state,
            updated_at=budget.updated_at,
        )


class PlanIn(Schema):
    markup: Annotated[
        LedgerAmount,
        Field(ge=MINIMUM_MARKUP, le=1000, description=f"Multiplier on provider cost; never below {MINIMUM_MARKUP}."),
    ]
    increment: Annotated[Decimal, Field(ge=Decimal("0.01"), le=100, decimal_places=2)] = DEFAULT_INCREMENT


def plan_out(workspace_id: uuid.UUID, plan: Plan) -> PlanOut:
    """The plan as the internal plan routes answer it."""
    return PlanOut(workspace_id=workspace_id, markup=plan.markup, increment=plan.increment, custom=plan.custom)


def api_allowance_out(workspace_id: uuid.UUID, period: str, status: BudgetStatus | None) -> ApiAllowanceOut:
    """Whether the workspace's API keys may spend in ``period``: always without a budget, else until it is spent."""
    if status is None:
        return ApiAllowanceOut(workspace_id=workspace_id, period=period, allowed=True, monthly_cap=None, spent=None)
    return ApiAllowanceOut(
        workspace_id=workspace_id,
        period=period,
        allowed=status.state != "exceeded",
        monthly_cap=status.budget.monthly_cap,
        spent=status.spent,
    )
