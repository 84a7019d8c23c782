"""Who owns an id: core's internal lookups of cards, boards and projects, for consumers that do not own them.

A consumer checks that the ids an event names belong to the event's workspace (and project) before it acts
on the event: a publisher's mistake or forgery must not reach another tenant's data. Ownership never
changes, so each answer is kept (least recently used dropped first); an id core does not know is asked
again next time. Core being unreachable is transient (the event is retried), never a verdict.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from agentworks_internal_api import Lookup
from agentworks_internal_api.core import (
    BOARD_OWNER,
    CARD_OWNER,
    PROJECT_OWNER,
    BoardOwnerOut,
    CardOwnerOut,
    ProjectOwnerOut,
)
from agentworks_platform.internal_http import InternalClient

from agentworks_pubsub.receiver import PermanentEventError

Kind = Literal["card", "board", "project"]
OWNER_ROUTES: dict[Kind, Lookup[CardOwnerOut] | Lookup[BoardOwnerOut] | Lookup[ProjectOwnerOut]] = {
    "card": CARD_OWNER,
    "board": BOARD_OWNER,
    "project": PROJECT_OWNER,
}
MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class Owner:
    """The workspace an id belongs to; for a card also its project and board, for a project itself."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID | None = None
    board_id: uuid.UUID | None = None


class OwnershipUnavailableError(RuntimeError):
    """Core could not say who owns an id; the event is retried, not judged."""


class Ownership:
    """Core's card, board and project owner lookups, each id asked once (bounded cache)."""

    def __init__(self, core: InternalClient, max_entries: int = MAX_ENTRIES) -> None:
        self.core = core
        self.max_entries = max_entries
        self._known: OrderedDict[tuple[Kind, uuid.UUID], Owner] = OrderedDict()
        self._asking: dict[tuple[Kind, uuid.UUID], asyncio.Future[Owner | None]] = {}

    async def owner(self, kind: Kind, resource_id: uuid.UUID) -> Owner | None:
        """The owner of the id, or None when core has no such id (never created, or deleted)."""
        key = (kind, resource_id)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        if key in self._asking:  # a batch naming one project many times asks core once
            return await asyncio.shield(self._asking[key])
        asking = asyncio.ensure_future(self._ask(kind, resource_id))
        self._asking[key] = asking
        try:
            found = await asyncio.shield(asking)
        finally:
            del self._asking[key]
        if found is not None:
            self._remember(key, found)
        return found

    async def require(
        self, kind: Kind, resource_id: uuid.UUID, workspace_id: uuid.UUID, project_id: uuid.UUID | None = None
    ) -> Owner:
        """The owner, which must be ``workspace_id`` (and ``project_id`` when given); else PermanentEventError."""
        found = await self.owner(kind, resource_id)
        if found is None:
            raise PermanentEventError(f"{kind} {resource_id} does not exist")
        ensure_owned(kind, resource_id, found, workspace_id, project_id)
        return found

    async def _ask(self, kind: Kind, resource_id: uuid.UUID) -> Owner | None:
        answer = await OWNER_ROUTES[kind].ask(self.core, resource_id, unavailable=OwnershipUnavailableError)
        return None if answer is None else Owner(**answer.model_dump())

    def _remember(self, key: tuple[Kind, uuid.UUID], found: Owner) -> None:
        self._known[key] = found
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)


def ensure_owned(
    kind: str, resource_id: uuid.UUID, found: Owner, workspace_id: uuid.UUID, project_id: uuid.UUID | None = None
) -> None:
    """PermanentEventError unless ``found`` is the event's workspace (and project, when both are known)."""
    if found.workspace_id != workspace_id:
        raise PermanentEventError(f"{kind} {resource_id} belongs to another workspace than the event's {workspace_id}")
    if project_id is not None and found.project_id is not None and found.project_id != project_id:
        raise PermanentEventError(f"{kind} {resource_id} belongs to another project than the event's {project_id}")
