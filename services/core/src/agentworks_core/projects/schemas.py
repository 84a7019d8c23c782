"""Project, board and lane shapes."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from pydantic import AfterValidator, Field

from agentworks_core.cards.schemas import CardOut
from agentworks_core.labels.schemas import LabelOut
from agentworks_core.schemas import Name, Out, StrictBody

WipLimit = Annotated[int, Field(ge=1, le=1000)]
# Checked as sent (ASCII letters and digits in either case), then kept in upper case.
ProjectKey = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9]{0,9}$",
        description="Prefixes the project's card ids (SHOP-42): a letter, then up to 9 letters or digits.",
    ),
    AfterValidator(str.upper),
]


class ProjectCreate(StrictBody):
    name: Name
    description: Annotated[str, Field(max_length=5000)] = ""


class ProjectUpdate(StrictBody):
    name: Name | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    key: ProjectKey | None = Field(default=None, description="Owners only; every card's short id follows it.")


class ProjectOut(Out):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str
    status: str
    key: str = Field(description="Prefixes the project's card ids (SHOP-42); unique in the workspace.")
    created_at: UtcDateTime
    board_id: uuid.UUID | None = None


class LaneUpdate(StrictBody):
    name: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    wip_limit: WipLimit | None = Field(default=None, description="Omit to keep; see clear_wip_limit.")
    clear_wip_limit: bool = False
    requires_approval: bool | None = Field(
        default=None, description="Hold each completed run in this lane for a person to approve or reject."
    )


class LaneOrder(StrictBody):
    lane_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)]


class LaneOut(Out):
    id: uuid.UUID
    number: int
    position: int
    name: str
    wip_limit: int | None
    requires_approval: bool = False
    card_count: int = 0


class BoardOut(Out):
    id: uuid.UUID
    project_id: uuid.UUID
    workspace_id: uuid.UUID
    name: str


class LaneWithCards(LaneOut):
    cards: list[CardOut]


class BoardDetail(BoardOut):
    lanes: list[LaneWithCards]
    labels: list[LabelOut] = Field(default_factory=list, description="The project's labels, by name.")
