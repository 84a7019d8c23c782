"""Run shapes: the bodies a card's run endpoints take and answer (the run context core serves the orchestrator is
``agentworks_internal_api.core.RunContextOut``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from agentworks_platform.money import MoneyOut
from pydantic import BaseModel, Field

from agentworks_core.schemas import Out, StrictBody


class RunIn(StrictBody):
    instructions: Annotated[str, Field(max_length=4000)] = ""


class DecisionIn(StrictBody):
    comment: Annotated[str, Field(max_length=4000)] = ""


class RunOut(Out):
    id: uuid.UUID
    card_id: uuid.UUID | None
    agent: str
    kind: str
    provider: str | None
    model: str | None
    status: str
    attempt: int
    input_tokens: int
    output_tokens: int
    cost: MoneyOut | None
    price: MoneyOut
    summary: str
    error_code: str | None
    reason: str | None
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    approval: str | None = None
    approval_comment: str = ""
    steps: int = Field(default=0, description="Steps a tool-using run has taken so far (0 for a single-call run).")
    stopped_at_limit: str | None = Field(default=None, description="The limit (steps, tokens, time, cost) it reached.")


class CardRuns(BaseModel):
    runs: list[RunOut]
    total_price: MoneyOut
    total_cost: MoneyOut | None


class RunRequested(BaseModel):
    run_id: uuid.UUID
    event_id: uuid.UUID
    agent: str
    status: str = "requested"


class Decision(BaseModel):
    run_id: uuid.UUID
    approval: str
    rerun: RunRequested | None = None
