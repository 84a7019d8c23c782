"""``/git/<project_id>.git/...``: git's smart HTTP for people's git clients. HTTP Basic auth carries a workspace
API key as the password (the user name is ignored); the orchestrator, which owns the repositories, checks the
key's user's role (viewers read only) and answers."""

from __future__ import annotations

import base64
import binascii
import uuid

from agentworks_platform.app import context_of
from agentworks_platform.db import commit_without_waiting
from agentworks_platform.errors import Unauthenticated, Unavailable
from agentworks_platform.principal import request_id_or_new
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.git import service
from agentworks_gateway.ratelimit import service as ratelimit
from agentworks_gateway.security import API_KEY_PREFIX, Caller, caller_from_key, client_ip
from agentworks_gateway.state import gateway_state

router = APIRouter(include_in_schema=False)
CHALLENGE = {"WWW-Authenticate": 'Basic realm="AgentWorks git", charset="UTF-8"'}
PASSED_REQUEST_HEADERS = ("content-type", "content-encoding", "git-protocol")


def api_key_of(authorization: str) -> str | None:
    """The API key in ``Basic base64(user:key)`` (any user name) or ``Bearer key``; None otherwise."""
    scheme, _, value = authorization.partition(" ")
    secret = value.strip()
    if scheme.lower() == "basic":
        try:
            secret = base64.b64decode(secret, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme.lower() != "bearer":
        return None
    return secret if secret.startswith(API_KEY_PREFIX) else None


def _text(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    # Git shows a text/plain answer's lines to the person as "remote: ..." (and a 401 makes it ask for a key).
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def _too_large(limit: int) -> Response:
    # Git reports the status of a refused request ("HTTP 413"); the text is shown where git shows a body.
    megabytes = limit // (1024 * 1024)
    return _text(f"This push is larger than the {megabytes} MiB a git request may send here.", 413)


async def _caller(request: Request) -> Caller | Response:
    key = api_key_of(request.headers.get("authorization", ""))
    if key is None:
        return _text("Use a workspace API key as the password (any user name).", 401, CHALLENGE)
    ctx = context_of(request)
    settings: GatewaySettings = ctx.settings  # type: ignore[assignment]
    ip = client_ip(request.headers, request.client.host if request.client else "", settings.trusted_proxy_hops)
    try:
        async with ctx.db.transaction() as session:
            await commit_without_waiting(session)
            caller = await caller_from_key(session, key, ip, request_id_or_new(request.headers.get("x-request-id")))
            window = await ratelimit.hit(session, f"key:{caller.credential_id}", settings.requests_per_hour, 3600)
    except Unauthenticated as refused:
        return _text(refused.message, 401, CHALLENGE)
    except Unavailable as busy:
        return _text(busy.message, 503, busy.headers)
    if window.exceeded:
        return _text(f"More than {window.limit} requests this hour; try again later.", 429, window.headers())
    return caller


@router.api_route("/git/{repository}/{git_path:path}", methods=["GET", "POST"])
async def git_smart_http(repository: str, git_path: str, request: Request) -> Response:
    name, dot, suffix = repository.rpartition(".")
    try:
        project_id = uuid.UUID(name) if (dot, suffix) == (".", "git") else None
    except ValueError:
        project_id = None
    if project_id is None:
        return _text("Repositories are at /git/<project id>.git", 404)
    caller = await _caller(request)
    if isinstance(caller, Response):
        return caller
    settings: GatewaySettings = context_of(request).settings  # type: ignore[assignment]
    limit = settings.git_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    headers = caller.principal.headers()
    headers.update({k: v for k, v in request.headers.items() if k.lower() in PASSED_REQUEST_HEADERS})
    orchestrator = gateway_state(context_of(request)).upstreams["orchestrator"]
    try:
        answer = await service.relay(orchestrator, request, f"/git/{project_id}/{git_path}", headers, limit)
    except service.BodyTooLargeError:
        return _too_large(limit)
    if answer is None:
        return _text("Repositories are unavailable right now; try again shortly.", 503, {"Retry-After": "5"})
    return answer
