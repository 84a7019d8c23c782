"""What the orchestrator asks core: the context a run needs (project, card, lane, agents, documents)."""

from __future__ import annotations

import uuid

import httpx
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import PermanentEventError

from agentworks_orchestrator.runs.prompts import RunContext


class CoreUnavailableError(RuntimeError):
    """Core did not answer; the triggering event is retried."""


async def run_context(
    core: InternalClient, project_id: uuid.UUID, card_id: uuid.UUID | None, lane_number: int | None = None
) -> RunContext:
    """``lane_number`` names the lane whose move or request triggered the run (its approval gate applies)."""
    params = {"card_id": str(card_id)} if card_id else {}
    if lane_number is not None:
        params["lane_number"] = str(lane_number)
    try:
        response = await core.request("GET", f"/internal/projects/{project_id}/run-context", params=params)
    except httpx.HTTPError as exc:
        raise CoreUnavailableError(f"core is unreachable: {type(exc).__name__}") from None
    if response.status_code == 404:
        raise PermanentEventError(f"project {project_id} or card {card_id} no longer exists")
    if response.status_code != 200:
        raise CoreUnavailableError(f"core answered {response.status_code}")
    body = response.json()
    return RunContext(
        project=body["project"],
        card=body.get("card"),
        lane_name=body.get("lane_name", ""),
        requires_approval=bool(body.get("requires_approval", False)),
        documents=body.get("documents", []),
        agents=body.get("agents", []),
    )
