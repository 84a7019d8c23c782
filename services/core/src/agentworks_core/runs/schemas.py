"""Run shapes: the bodies a card's run endpoints take and answer, and the run context core serves the orchestrator."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import ChecklistItem, UtcDateTime
from agentworks_platform.money import MoneyOut
from pydantic import BaseModel, Field

from agentworks_core.agents.schemas import AgentConfigOut
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


class ContextProjectOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str


class ContextCardOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    card_type: str
    parent_id: uuid.UUID | None = None
    acceptance_criteria: list[str] = Field(default_factory=list)
    checklist: list[ChecklistItem] = Field(default_factory=list)


class ContextDocumentOut(BaseModel):
    kind: str
    title: str
    version: int
    content: str


class RunContextOut(BaseModel):
    """What an agent run needs to know: its project, card and lane, the project's latest documents, and how
    each agent is configured for the project."""

    project: ContextProjectOut
    card: ContextCardOut | None
    lane_name: str
    lane_number: int | None
    requires_approval: bool
    documents: list[ContextDocumentOut]
    agents: list[AgentConfigOut]
