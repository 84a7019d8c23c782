"""Card shapes: each inherits the card's own fields from ``agentworks_events.CardFields``; the create body
narrows the ones a person writes, and the update body restates them all as optional (a test holds it complete)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal, Self, get_args

from agentworks_events import CardFields, ChecklistItem, UtcDateTime
from agentworks_events.base import AgentKey
from agentworks_events.cards import CHECKLIST_MAX, CRITERIA_MAX, LABELS_MAX, CardType, Criterion, Priority
from agentworks_platform.input_rules import visible_text
from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from agentworks_core.schemas import Out, StrictBody

Title = Annotated[str, visible_text(200)]
Description = Annotated[str, Field(max_length=20_000)]
Position = Annotated[int, Field(ge=0, le=100_000)]
Clearable = Literal["assignee_id", "assignee_agent", "parent_id", "due_date"]
LabelIds = Annotated[tuple[uuid.UUID, ...], Field(max_length=LABELS_MAX)]


class ChecklistItemIn(ChecklistItem):
    """A checklist line as a person sends it: unknown fields are refused, as in every request body."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_max_length=100_000)


Checklist = Annotated[tuple[ChecklistItemIn, ...], Field(max_length=CHECKLIST_MAX)]


class CardCreate(StrictBody, CardFields):
    title: Title
    description: Description = ""
    card_type: CardType = "task"
    lane_id: uuid.UUID | None = Field(default=None, description="Defaults to the board's first lane.")
    position: Position | None = Field(default=None, description="Defaults to the end of the lane.")
    checklist: Checklist = ()
    label_ids: LabelIds = ()


class CardUpdate(StrictBody):
    # Leaving a field out keeps it; null is refused, so the published schema does not offer it.
    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    card_type: CardType | SkipJsonSchema[None] = None
    priority: Priority | SkipJsonSchema[None] = None
    assignee_id: uuid.UUID | None = None
    assignee_agent: AgentKey | None = None
    parent_id: uuid.UUID | None = None
    acceptance_criteria: Annotated[tuple[Criterion, ...], Field(max_length=CRITERIA_MAX)] | SkipJsonSchema[None] = None
    checklist: Checklist | SkipJsonSchema[None] = None
    label_ids: LabelIds | SkipJsonSchema[None] = None
    due_date: date | None = None
    clear: list[Clearable] = Field(default_factory=list, description="Fields to set to null.")

    @model_validator(mode="after")
    def _refuse_null_for_required_fields(self) -> Self:
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None and f not in get_args(Clearable))
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null; leave a field out to keep its value")
        return self


class CardMove(StrictBody):
    lane_id: uuid.UUID
    position: Position | None = Field(default=None, description="Defaults to the end of the lane.")


class RunBadge(Out):
    """What the card shows about its agent runs."""

    last_status: str
    last_agent: str
    runs: int
    total_price: str
    awaiting_approval: int = 0


class CardOut(Out, CardFields):
    """A card as the API and the board show it; the board's rows are read from exactly these columns."""

    id: uuid.UUID
    human_id: str = Field(description="The card's short id: its project's key and its number there (SHOP-42).")
    project_id: uuid.UUID
    board_id: uuid.UUID
    lane_id: uuid.UUID
    position: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
    archived_at: UtcDateTime | None = Field(default=None, description="Set while the card is archived (off the board).")
    runs: RunBadge | None = None


class CardImageOut(Out):
    """An image an agent's run generated for the card (its blob's name under the workspace)."""

    id: uuid.UUID
    card_id: uuid.UUID
    run_id: uuid.UUID
    agent: str
    name: str
    prompt: str
    content_type: str
    created_at: UtcDateTime
