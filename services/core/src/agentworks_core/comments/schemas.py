"""Comment shapes: what a person writes, and a comment as a card lists it."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from pydantic import Field

from agentworks_core.schemas import Out, StrictBody

Body = Annotated[str, Field(min_length=1, max_length=20_000)]


class CommentIn(StrictBody):
    body: Body = Field(description="Markdown.")


class CommentOut(Out):
    """A comment on a card, by a person (``author_id``) or an agent (``agent``, with the ``run_id`` that wrote it)."""

    id: uuid.UUID
    card_id: uuid.UUID
    author_id: uuid.UUID | None
    agent: str | None
    run_id: uuid.UUID | None
    body: str
    created_at: UtcDateTime
