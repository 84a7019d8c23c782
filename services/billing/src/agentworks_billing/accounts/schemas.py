"""Budget and plan schemas."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from agentworks_events import UtcDateTime
from agentworks_events.money import DEFAULT_INCREMENT, MINIMUM_MARKUP
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


class PlanOut(Schema):
    workspace_id: uuid.UUID
    markup: MoneyOut
    increment: MoneyOut
    custom: bool = Field(description="False when the workspace is on the default plan.")

    @classmethod
    def of(cls, workspace_id: uuid.UUID, plan: Plan) -> PlanOut:
        return cls(workspace_id=workspace_id, markup=plan.markup, increment=plan.increment, custom=plan.custom)


class ApiAllowanceOut(Schema):
    """Whether calls made with the workspace's API keys may reach a provider now: not once its budget is spent."""

    workspace_id: uuid.UUID
    period: str
    allowed: bool
    monthly_cap: MoneyOut | None = Field(description="The workspace's monthly cap; null when it has none.")
    spent: MoneyOut | None = Field(description="This period's charges (runs and API calls); null without a cap.")

    @classmethod
    def of(cls, workspace_id: uuid.UUID, period: str, status: BudgetStatus | None) -> ApiAllowanceOut:
        if status is None:
            return cls(workspace_id=workspace_id, period=period, allowed=True, monthly_cap=None, spent=None)
        return cls(
            workspace_id=workspace_id,
            period=period,
            allowed=status.state != "exceeded",
            monthly_cap=status.budget.monthly_cap,
            spent=status.spent,
        )
