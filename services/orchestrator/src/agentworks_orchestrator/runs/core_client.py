"""What the orchestrator asks core: the context a run needs (project, card, lane, agents, documents) and, for a
tool-using run, the card's documents."""

from __future__ import annotations

import uuid

import httpx
from agentworks_internal_api.core import RUN_CONTEXT, RunContextOut
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import PermanentEventError
from pydantic import BaseModel, ConfigDict, TypeAdapter


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


class CardDocumentOut(BaseModel):
    """One of a card's documents as core lists them: its newest version, without content."""

    model_config = ConfigDict(extra="ignore")
    name: str
    title: str
    version: int
    content_type: str = "text/markdown"


class CardDocumentContentOut(CardDocumentOut):
    """The newest version of one of a card's documents, with its content."""

    content: str


async def card_documents(core: InternalClient, card_id: uuid.UUID) -> list[CardDocumentOut]:
    """The card's documents, newest version of each; empty for a card core no longer has."""
    response = await _get(core, f"/internal/cards/{card_id}/documents")
    if response.status_code == 404:
        return []
    return TypeAdapter(list[CardDocumentOut]).validate_json(response.content)


async def card_document(core: InternalClient, card_id: uuid.UUID, name: str) -> CardDocumentContentOut | None:
    """The newest version of the card's document ``name``; None when the card has none of that name."""
    response = await _get(core, f"/internal/cards/{card_id}/documents/{name}")
    if response.status_code == 404:
        return None
    return CardDocumentContentOut.model_validate_json(response.content)


async def _get(core: InternalClient, path: str) -> httpx.Response:
    try:
        response = await core.request("GET", path)
    except httpx.HTTPError as exc:
        raise CoreUnavailableError(f"core is unreachable: {type(exc).__name__}") from None
    if response.status_code not in (200, 404):
        raise CoreUnavailableError(f"core answered {response.status_code}")
    return response
