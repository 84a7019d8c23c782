"""What every OpenAI-compatible route shares: who pays for the call, how a provider error is answered, and
the headers and ``agentworks`` extension that say who answered and what it cost."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Any

from agentworks_blobs import BlobStore
from agentworks_platform.app import context_of
from agentworks_platform.errors import AppError
from agentworks_platform.principal import API_KEY_ID, GATEWAY_URL, KEY_WORKSPACE
from agentworks_platform.service_auth import VerifiedCaller
from fastapi import Request

from agentworks_provider_router.chat.schemas import Metadata
from agentworks_provider_router.providers.base import ChatRequest, Delta, ProviderError
from agentworks_provider_router.routing import CallMeta, Outcome, Router
from agentworks_provider_router.state import router_state

HEADER_FIELDS = ("workspace-id", "project-id", "run-id", "card-id", "agent")
OPENAI_API_CALLERS = ("orchestrator", "gateway")
"""Who calls the model operations (``allow_callers(*OPENAI_API_CALLERS)``): agents' runs, and the gateway for
workspace API keys, which serves every ``/v1`` operation admitting it to customers at its own ``/v1``."""


async def opened_chat(
    request: Request, chat: ChatRequest, metadata: Metadata | None
) -> tuple[Outcome, AsyncGenerator[Delta, None], Delta]:
    """Start a chat call and wait for its first delta, so that a provider that refuses answers with an error
    status instead of inside a 200 stream; returns the call's outcome, its stream and that first delta."""
    outcome = Outcome()
    stream = router_of(request).stream_chat(chat, call_meta(request, metadata), outcome)
    try:
        return outcome, stream, await anext(stream)
    except ProviderError as exc:
        raise refusal(exc, outcome) from None


def router_of(request: Request) -> Router:
    return router_state(context_of(request)).router


def blobs_of(request: Request) -> BlobStore:
    return router_state(context_of(request)).blobs


def call_meta(request: Request, body_meta: Metadata | None) -> CallMeta:
    """Who pays. For the gateway, the workspace API key it verified (nothing the client wrote); for an agent's
    call, ``x-aw-*`` headers, else the body's ``metadata``, where workspace and project are required."""
    if from_gateway(request):
        return _key_meta(request)
    values: dict[str, Any] = (
        body_meta.model_dump(include={"workspace_id", "project_id", "run_id", "card_id", "agent"}) if body_meta else {}
    )
    for field in HEADER_FIELDS:
        header = request.headers.get(f"x-aw-{field}")
        if header:
            values[field.replace("-", "_")] = header
    try:
        return CallMeta(
            workspace_id=uuid.UUID(str(values["workspace_id"])),
            project_id=uuid.UUID(str(values["project_id"])),
            run_id=uuid.UUID(str(values["run_id"])) if values.get("run_id") else None,
            card_id=uuid.UUID(str(values["card_id"])) if values.get("card_id") else None,
            agent=values.get("agent") or None,
        )
    except (KeyError, ValueError):
        raise AppError(
            "Say who the call is for: x-aw-workspace-id and x-aw-project-id headers (or metadata).",
            code="metadata_required",
            status_code=400,
        ) from None


def from_gateway(request: Request) -> bool:
    """Whether the verified caller is the gateway, acting for a workspace API key."""
    caller: VerifiedCaller = request.state.service_caller
    return caller.email in context_of(request).settings.caller_emails(["gateway"])


def _key_meta(request: Request) -> CallMeta:
    workspace_id = _uuid_header(request, KEY_WORKSPACE)
    api_key_id = _uuid_header(request, API_KEY_ID)
    if workspace_id is None or api_key_id is None:
        raise AppError(
            "The OpenAI-compatible API answers workspace API keys only.", code="api_key_required", status_code=403
        )
    return CallMeta(workspace_id=workspace_id, project_id=None, api_key_id=api_key_id)


def reader_workspace(request: Request) -> uuid.UUID:
    """The workspace a read is for: an API key's, as the gateway vouches, else the x-aw-workspace-id header."""
    if from_gateway(request):
        return _key_meta(request).workspace_id
    workspace_id = _uuid_header(request, "x-aw-workspace-id")
    if workspace_id is None:
        raise AppError("Say whose it is: the x-aw-workspace-id header.", code="metadata_required", status_code=400)
    return workspace_id


def link_base(request: Request, route: str, **params: str) -> str:
    """A link to one of this router's routes as the caller can open it: through the gateway's public base for an
    API key's call (the gateway serves the same path at its /v1), else the router's own address."""
    own = str(request.url_for(route, **params))
    if not from_gateway(request):
        return own
    gateway = request.headers.get(GATEWAY_URL, "").rstrip("/")
    if not gateway.startswith(("https://", "http://")):
        raise AppError("The gateway did not say where it serves links.", code="gateway_url_missing", status_code=502)
    return gateway + str(request.app.url_path_for(route, **params))


def _uuid_header(request: Request, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.headers.get(name, ""))
    except ValueError:
        return None


def refusal(exc: ProviderError, outcome: Outcome | None = None) -> AppError:
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after is not None else {}
    if outcome is not None and outcome.attempts:
        # The router has spent this request's retries upstream; a client SDK retrying would multiply them.
        headers["x-should-retry"] = "false"
    status = exc.status if exc.status in (400, 404, 429, 502, 503, 504) else 502
    details = {**exc.details, "param": exc.param} if exc.details or exc.param else None
    return AppError(exc.message, code=exc.code, status_code=status, headers=headers or None, details=details)


def answered_by(outcome: Outcome) -> dict[str, str]:
    """Headers naming the model and provider that answered, and whether a fallback served the call."""
    return {
        "x-agentworks-model": outcome.model,
        "x-agentworks-provider": outcome.provider,
        "x-agentworks-fallback": "true" if outcome.fallback else "false",
    }


def extension(outcome: Outcome) -> dict[str, Any]:
    """AgentWorks' additions to the usage: who answered and what it cost (exact decimal string)."""
    return {
        "provider": outcome.provider,
        "requested_provider": outcome.requested_provider,
        "model": outcome.model,
        "cost": format(outcome.cost, "f"),
        "attempts": outcome.attempts,
        "fallback": outcome.fallback,
    }
