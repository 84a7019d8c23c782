"""Inbox shapes: a notification as a person's inbox lists it, the unread count, and whether one follows a card."""

from __future__ import annotations

import uuid
from typing import Literal

from agentworks_events import NotificationKind, UtcDateTime

from agentworks_core.schemas import Out


class NotificationOut(Out):
    """One entry of a person's inbox: what happened (``kind``, ``title``, an excerpt in ``body``), on which card
    (``card_id``, with its ``project_id`` to open it), by whom (``actor_id`` or ``agent``), and when it was read."""

    id: uuid.UUID
    kind: NotificationKind
    title: str
    body: str
    project_id: uuid.UUID | None
    card_id: uuid.UUID | None
    run_id: uuid.UUID | None
    comment_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    agent: str | None
    created_at: UtcDateTime
    read_at: UtcDateTime | None


class InboxOut(Out):
    """A person's newest notifications in a workspace and how many are unread in all."""

    notifications: list[NotificationOut]
    unread: int


class UnreadOut(Out):
    unread: int


class WatchOut(Out):
    """Whether the person is notified of the card's runs, and why: they ``created`` it, are its ``assignee``,
    chose to ``watch`` it, or ``muted`` it (``none``: nothing ties them to it)."""

    watching: bool
    because: Literal["created", "assignee", "watch", "muted", "none"]
