"""Core's reaction to what another service did to a card and reported as an event, kept in the card's audit log so
the card's timeline shows it: a merge of the card's code (``code.merged``, from the orchestrator on agent-runs).
Each runs in the push receiver's transaction, so the inbox row and the audit entry commit together and a
redelivered event records nothing twice."""

from __future__ import annotations

from typing import Any

from agentworks_events import CodeMerged
from agentworks_platform.db import set_tenant
from agentworks_pubsub import PermanentEventError, PushMessage
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.audit import service
from agentworks_core.models import Card
from agentworks_core.runs import repository as runs


async def on_code_merged(session: AsyncSession, event: CodeMerged, _push: PushMessage) -> None:
    await _ensure_owned(session, event)
    await set_tenant(session, workspace_id=event.workspace_id)
    service.record_merge(session, event)


async def _ensure_owned(session: AsyncSession, event: CodeMerged) -> None:
    """The project is the event's workspace's, and so is the card (unless deleted since), in that project; the
    resource index sees every tenant."""
    named = {event.project_id: "project", event.card_id: "card"}
    entries = {entry.id: entry for entry in await runs.index_entries(session, list(named))}
    if event.project_id not in entries:
        raise PermanentEventError(f"project {event.project_id} does not exist (deleted?); merge not recorded")
    for entry in entries.values():
        if (entry.kind, entry.workspace_id) != (named[entry.id], event.workspace_id):
            raise PermanentEventError(f"{named[entry.id]} {entry.id} is not one of workspace {event.workspace_id}'s")
    card = await session.get(Card, event.card_id)
    if card is not None and card.project_id != event.project_id:
        raise PermanentEventError(f"card {card.id} is not in project {event.project_id}")


def handlers() -> dict[str, Any]:
    """The agent-runs handlers of the audit domain, by event type."""
    return {"code.merged": on_code_merged}
