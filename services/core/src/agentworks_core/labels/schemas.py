"""Label shapes."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from agentworks_platform.input_rules import visible_text
from pydantic import AfterValidator, Field

from agentworks_core.schemas import Out, StrictBody

LabelName = Annotated[str, visible_text(40)]
# The pattern is checked on what the client sent, then the colour is kept in lower case: the published document
# states exactly what is accepted, in either case.
Color = Annotated[
    str,
    Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb", examples=["#2f80ed"]),
    AfterValidator(str.lower),
]


class LabelIn(StrictBody):
    name: LabelName
    color: Color


class LabelChangeIn(StrictBody):
    name: LabelName | None = None
    color: Color | None = None


class LabelOut(Out):
    """A coloured label of a project, which its cards hold by id (``label_ids``)."""

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    color: str = Field(description="#rrggbb")
    created_at: UtcDateTime
