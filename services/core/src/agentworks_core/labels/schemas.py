"""Label shapes."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from agentworks_platform.input_rules import visible_text
from pydantic import BeforeValidator, Field

from agentworks_core.schemas import Out, StrictBody

LabelName = Annotated[str, visible_text(40)]
Color = Annotated[
    str,
    BeforeValidator(lambda value: value.lower() if isinstance(value, str) else value),
    Field(pattern=r"^#[0-9a-f]{6}$", description="#rrggbb", examples=["#2f80ed"]),
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
