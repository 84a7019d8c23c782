"""usage-events: metering from the provider router, charges from the orchestrator, budgets from billing."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter, model_validator

from agentworks_events.base import AgentKey, Event, Money, NonNegative

CallOutcome = Literal["success", "error", "timeout", "cancelled"]
BudgetScope = Literal["workspace", "project"]


class UsageRecorded(Event):
    """Fires for every provider attempt that may be charged, successful or not (one call, one event).

    A call an agent run makes names its project; a call a workspace API key makes through the public
    OpenAI-compatible API (``api_key_id`` set) names no project and is charged per call with the markup."""

    type: Literal["usage.recorded"] = "usage.recorded"
    project_id: UUID | None = Field(  # type: ignore[assignment]
        default=None, description="The project of an agent run's call; none for a call made with an API key."
    )
    api_key_id: UUID | None = Field(
        default=None, description="The workspace API key that made the call through the public /v1 API."
    )
    run_id: UUID | None = None
    card_id: UUID | None = None
    agent: AgentKey | None = None
    provider: str
    model: str
    requested_provider: str = Field(description="Provider first asked; differs from provider on fallback.")
    input_tokens: NonNegative = 0
    output_tokens: NonNegative = 0
    images: NonNegative = 0
    cost: Money
    latency_ms: NonNegative
    attempt: Annotated[int, Field(ge=1)] = 1
    outcome: CallOutcome
    error_code: str | None = None
    cached_input_tokens: NonNegative = Field(default=0, description="Of input_tokens, read from a prompt cache.")
    cache_write_tokens: NonNegative = Field(default=0, description="Of input_tokens, written to a prompt cache.")
    reasoning_tokens: NonNegative = Field(default=0, description="Of output_tokens, reasoning (thinking).")
    estimated: bool = Field(
        default=False, description="The tokens are the router's estimate: the provider never reported them."
    )

    @model_validator(mode="after")
    def _attributed(self) -> UsageRecorded:
        """A call is either an agent's (a project, maybe a run) or an API key's (neither)."""
        if self.api_key_id is None and self.project_id is None:
            raise ValueError("a call made for an agent names its project_id")
        if self.api_key_id is not None and (self.project_id is not None or self.run_id is not None):
            raise ValueError("a call made with an API key names no project or run")
        return self

    @property
    def ordering_key(self) -> str:
        return str(self.run_id) if self.run_id else ""


class UsageRunSettled(Event):
    """Fires once per finished run (completed, failed or cancelled): the billable charge for it."""

    type: Literal["usage.run_settled"] = "usage.run_settled"
    run_id: UUID
    card_id: UUID | None = None
    agent: AgentKey
    run_status: Literal["completed", "failed", "cancelled"]
    cost: Money
    markup: Money
    increment: Money
    unrounded_amount: Money = Field(description="markup × cost before rounding up to the increment.")
    price: Money
    currency: Literal["USD"] = "USD"
    provider_calls: NonNegative = 0

    @property
    def ordering_key(self) -> str:
        return str(self.run_id)


class BudgetEventBase(Event):
    scope: BudgetScope
    budget_project_id: UUID | None = Field(default=None, description="Set when scope is 'project'.")
    period: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    cap: Money
    spent: Money


class UsageBudgetWarning(BudgetEventBase):
    """Fires once per budget and period when the spend first reaches 80% of the cap."""

    type: Literal["usage.budget_warning"] = "usage.budget_warning"
    threshold_percent: NonNegative = 80


class UsageBudgetExceeded(BudgetEventBase):
    """Fires once per budget and period when the spend reaches the cap; new runs are refused after it."""

    type: Literal["usage.budget_exceeded"] = "usage.budget_exceeded"


class UsageBudgetChanged(Event):
    """Fires when an owner sets, changes or removes a budget; consumers recompute whether it is exceeded."""

    type: Literal["usage.budget_changed"] = "usage.budget_changed"
    scope: BudgetScope
    budget_project_id: UUID | None = Field(default=None, description="Set when scope is 'project'.")
    period: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    cap: Money | None = Field(description="The new monthly cap; null when the budget was removed.")
    spent: Money

    @property
    def exceeded(self) -> bool:
        return self.cap is not None and self.spent >= self.cap


UsageEvent = Annotated[
    UsageRecorded | UsageRunSettled | UsageBudgetWarning | UsageBudgetExceeded | UsageBudgetChanged,
    Field(discriminator="type"),
]
USAGE_EVENT_ADAPTER: TypeAdapter[UsageEvent] = TypeAdapter(UsageEvent)
