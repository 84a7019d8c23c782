"""Billing's internal routes: the plan new runs are priced with, and whether a workspace's API keys may spend."""

from __future__ import annotations

import uuid

from agentworks_platform.money import MoneyOut
from pydantic import Field

from agentworks_internal_api.answers import Answer
from agentworks_internal_api.route import Lookup


class PlanOut(Answer):
    """The plan a workspace's new runs are priced with."""

    workspace_id: uuid.UUID
    markup: MoneyOut
    increment: MoneyOut
    custom: bool = Field(description="False when the workspace is on the default plan.")


class ApiAllowanceOut(Answer):
    """Whether calls made with the workspace's API keys may reach a provider now: not once its budget is spent."""

    workspace_id: uuid.UUID
    period: str
    allowed: bool
    monthly_cap: MoneyOut | None = Field(description="The workspace's monthly cap; null when it has none.")
    spent: MoneyOut | None = Field(description="This period's charges (runs and API calls); null without a cap.")


PLAN = Lookup("billing", "/internal/workspaces/{workspace_id}/plan", PlanOut)
API_ALLOWANCE = Lookup("billing", "/internal/workspaces/{workspace_id}/api-allowance", ApiAllowanceOut)
