"""What the orchestrator asks core: the context a run needs (project, card, lane, agents, documents) and, for a
tool-using run, the card's documents."""

from __future__ import annotations

import uuid

from agentworks_internal_api.core import (
    CARD_DOCUMENT,
    CARD_DOCUMENTS,
    RUN_CONTEXT,
    CardDocumentOut,
    CardDocumentVersionOut,
    ContextCardOut,
    RunContextOut,
)
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import PermanentEventError


class CoreUnavailableError(RuntimeError):
    """Core did not answer; the triggering event is retried."""


async def run_context(
    core: InternalClient, project_id: uuid.UUID, card_id: uuid.UUID | None, lane_number: int | None = None
) -> RunContextOut:
    """``lane_number`` names the lane whose move or request triggered the run (its approval gate applies)."""
    query = {"card_id": str(card_id)} if card_id else {}
    if lane_number is not None:
        query["lane_number"] = str(lane_number)
    context = await RUN_CONTEXT.ask(core, project_id, unavailable=CoreUnavailableError, query=query)
    if context is None:
        raise PermanentEventError(f"project {project_id} or card {card_id} no longer exists")
    return context


async def card_documents(core: InternalClient, card_id: uuid.UUID) -> list[CardDocumentOut]:
    """The card's documents, newest version of each; empty for a card core no longer has."""
    documents = await CARD_DOCUMENTS.ask(core, card_id, unavailable=CoreUnavailableError)
    return [] if documents is None else documents.root


async def card_document(core: InternalClient, card_id: uuid.UUID, name: str) -> CardDocumentVersionOut | None:
    """The newest version of the card's document ``name``; None when the card has none of that name."""
    return await CARD_DOCUMENT.ask(core, card_id, name, unavailable=CoreUnavailableError)


async def current_card(core: InternalClient, project_id: uuid.UUID, card_id: uuid.UUID) -> ContextCardOut | None:
    """The card as core holds it now (a run's context is read once, at its start); None when it is gone."""
    context = await RUN_CONTEXT.ask(core, project_id, unavailable=CoreUnavailableError, query={"card_id": str(card_id)})
    return None if context is None else context.card
