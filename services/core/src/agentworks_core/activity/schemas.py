"""Activity shapes."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from agentworks_events import UtcDateTime
from pydantic import Field

from agentworks_core.schemas import Out

ActivityKind = Literal[
    "created", "edited", "moved", "archived", "unarchived", "run", "approval", "comment", "merged", "other"
]


class ActivityChangeOut(Out):
    """One field an edit changed, with its value before and after."""

    field: str
    before: Any = None
    after: Any = None


class ActivityItemOut(Out):
    """One thing that happened to a card. ``kind`` says which of the optional parts it fills: ``edited`` its
    ``changes``; ``moved`` the lanes; ``run`` the run's agent, status and reason; ``approval`` the run, its agent,
    the ``decision`` and its comment; ``comment`` the comment; ``merged`` the ``branch`` and the merge commit's
    ``sha`` (``actor_id`` merged it); ``other`` only its audit ``action``."""

    id: str = Field(description="Unique in the timeline: the source and its row's id.")
    kind: ActivityKind
    action: str = Field(description="What the platform recorded, e.g. card.updated or agent.run.")
    at: UtcDateTime
    actor_id: uuid.UUID | None = Field(default=None, description="The person who did it; None for agents.")
    agent: str | None = None
    changes: list[ActivityChangeOut] = Field(default_factory=list)
    from_lane: str | None = None
    to_lane: str | None = None
    run_id: uuid.UUID | None = None
    status: str | None = None
    reason: str | None = None
    decision: str | None = None
    comment_id: uuid.UUID | None = None
    branch: str | None = Field(default=None, description="The card's branch a merge took into the default branch.")
    sha: str | None = Field(default=None, description="A merge's commit on the default branch.")
    text: str = Field(default="", description="A comment's text or an approval's comment (empty once deleted).")


class ActivityPageOut(Out):
    """A page of a card's activity, newest first."""

    items: list[ActivityItemOut]
    next_cursor: str | None = None
