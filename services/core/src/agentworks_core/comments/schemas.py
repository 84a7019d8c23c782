"""Comment shapes: what a person writes, and a comment as a card lists it."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from pydantic import Field

from agentworks_core.runs.schemas import RunRequested
from agentworks_core.schemas import Out, StrictBody

Body = Annotated[str, Field(min_length=1, max_length=20_000)]


class CommentIn(StrictBody):
    body: Body = Field(
        description="Markdown. `@agent` (key or name) runs that agent on the card with the comment as "
        "its instructions; `@person` (their email's local part, or the whole email) notifies that member."
    )


class CommentOut(Out):
    """A comment on a card, by a person (``author_id``) or an agent (``agent``, with the ``run_id`` that wrote it);
    ``edited_at`` once its author changed it; a deleted comment keeps its place with an empty ``body``."""

    id: uuid.UUID
    card_id: uuid.UUID
    author_id: uuid.UUID | None
    agent: str | None
    run_id: uuid.UUID | None
    body: str
    created_at: UtcDateTime
    edited_at: UtcDateTime | None
    deleted: bool = False


class CommentPostedOut(CommentOut):
    """The new comment and the runs it asked for, one per agent it names."""

    runs: list[RunRequested]
