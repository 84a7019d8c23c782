"""``/v1/*``: the provider router's OpenAI-compatible API, served to workspace API keys.

A team points any OpenAI SDK at ``<gateway>/v1`` with a workspace API key. Which operations are served follows
the published OpenAPI documents: every ``/v1/…`` operation whose callers include the gateway
(``x-agentworks-callers``); anything else is 404 and never leaves the gateway. Each request is checked in this
order: the route, the key (a session cookie is not enough: a session names no workspace to bill, and a key is
the workspace's explicit, revocable consent to spend), the key's requests and tokens a minute, that the key's
creator may still run agents in its workspace, and that the workspace's monthly budget is not spent. Only then
is it forwarded, with the key's workspace and id as the gateway vouches for them, so the router records the
call against that workspace and nothing the client wrote.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
from agentworks_internal_api.billing import API_ALLOWANCE
from agentworks_internal_api.core import member_role
from agentworks_platform.app import context_of
from agentworks_platform.db import commit_without_waiting
from agentworks_platform.errors import AppError
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.principal import GATEWAY_URL, request_id_or_new
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.openai_api import errors
from agentworks_gateway.openai_api.limits import Allowance, KeyLimits, estimated_tokens
from agentworks_gateway.paths import SAFE_PATH_STATE, SafePath
from agentworks_gateway.routes import MethodNotAllowed, PublicRoute, RouteTable
from agentworks_gateway.security import ApiGuard, Caller, client_ip
from agentworks_gateway.state import gateway_state

API_PREFIX = "/v1/"
MAX_BODY_BYTES = 8 * 1024 * 1024
RUNS_AGENTS = frozenset({"owner", "member"})
PASSED_REQUEST_HEADERS = ("content-type", "accept")
PASSED_RESPONSE_HEADERS = (
    "content-type",
    "retry-after",
    "x-should-retry",
    "x-agentworks-model",
    "x-agentworks-provider",
    "x-agentworks-fallback",
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"]

router = APIRouter(include_in_schema=False)


class CustomerApi:
    """The ``/v1`` operations customers may call, and the limits of their keys."""

    def __init__(self, table: RouteTable, limits: KeyLimits) -> None:
        self.table = table
        self.limits = limits

    def route(self, method: str, safe: SafePath) -> PublicRoute:
        try:
            return self.table.find(method, safe.segments)
        except MethodNotAllowed as exc:
            raise errors.OpenAIError(405, "invalid_request_error", "method_not_allowed", exc.message) from None
        except AppError:
            message = f"Invalid URL ({method} {safe.decoded}): the API offers {API_PREFIX}… operations only."
            raise errors.OpenAIError(404, "invalid_request_error", "unknown_url", message) from None


def customer_table(documents: dict[str, dict[str, Any]]) -> RouteTable:
    return RouteTable.from_documents(documents, prefix=API_PREFIX, admitting="gateway")


@router.api_route("/v1/{path:path}", methods=METHODS)
async def openai_api(request: Request) -> Response:
    allowance: Allowance | None = None
    try:
        api = gateway_state(context_of(request)).customer_api
        route = api.route(request.method, _safe_path(request))
        body = await _body(request)
        estimate = estimated_tokens(body)
        caller, allowance = await _admit(request, api.limits, estimate)
        await _may_spend(request, caller)
        return await _forward(request, route, caller, body, api.limits, allowance, estimate)
    except errors.OpenAIError as exc:
        return exc.response(allowance.headers() if allowance is not None else None)


def _safe_path(request: Request) -> SafePath:
    safe: SafePath = request.scope["state"][SAFE_PATH_STATE]  # the path guard runs before every route
    return safe


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise errors.OpenAIError(
                413, "invalid_request_error", "payload_too_large", "The request body is larger than 8 MB."
            )
    return body


async def _admit(request: Request, limits: KeyLimits, estimate: int) -> tuple[Caller, Allowance]:
    """The key's caller and its windows after this request: one transaction, committed without waiting for the
    disk (a crash can only forget a few counts)."""
    ctx = context_of(request)
    settings: GatewaySettings = ctx.settings  # type: ignore[assignment]
    ip = client_ip(request.headers, request.client.host if request.client else "", settings.trusted_proxy_hops)
    request_id = request_id_or_new(request.headers.get("x-request-id"))
    refused: errors.OpenAIError | None = None
    try:
        async with ctx.db.transaction() as session:
            await commit_without_waiting(session)
            caller = await ApiGuard.key_caller_in(session, request.headers, ip, request_id)
            if caller is None:
                raise errors.invalid_key(
                    "Send a workspace API key as 'Authorization: Bearer aw_…'; a signed-in session is not enough."
                )
            try:
                allowance = await limits.admit(session, caller.credential_id, estimate)
            except errors.OpenAIError as exc:  # past a limit: refused, and the count of it kept
                refused = exc
    except AppError as exc:  # a revoked or unknown key; no database connection in time
        if exc.status_code == 401:
            raise errors.invalid_key(exc.message) from None
        raise errors.unavailable(exc.message) from None
    if refused is not None:
        raise refused
    return caller, allowance


async def _may_spend(request: Request, caller: Caller) -> None:
    """The key's creator still runs agents in the workspace, and the workspace's budget is not spent."""
    workspace_id = caller.principal.key_workspace_id
    role, allowance = await asyncio.gather(
        member_role(_client(request, "core"), str(workspace_id), caller.principal.user_id),
        API_ALLOWANCE.ask(_client(request, "billing"), workspace_id),
        return_exceptions=True,
    )
    if isinstance(role, BaseException) or isinstance(allowance, BaseException) or allowance is None:
        raise errors.unavailable("AgentWorks cannot check this key's workspace right now; try again shortly.")
    if role not in RUNS_AGENTS:
        raise errors.not_allowed(_why_not_allowed(role))
    if not allowance.allowed:
        raise errors.budget_spent(str(allowance.monthly_cap), str(allowance.spent))


def _client(request: Request, service: str) -> InternalClient:
    return gateway_state(context_of(request)).upstreams[service]


async def _forward(
    request: Request,
    route: PublicRoute,
    caller: Caller,
    body: bytes,
    limits: KeyLimits,
    allowance: Allowance,
    estimate: int,
) -> Response:
    headers = caller.principal.headers()
    headers.update({k: v for k, v in request.headers.items() if k.lower() in PASSED_REQUEST_HEADERS})
    headers[GATEWAY_URL] = context_of(request).settings.audience
    stack = AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(
            _client(request, route.owner).stream(
                request.method,
                _safe_path(request).raw,
                params=request.query_params.multi_items(),
                content=body,
                headers=headers,
            )
        )
    except httpx.HTTPError:
        await stack.aclose()
        raise errors.unavailable("The model API is unavailable right now; try again shortly.") from None
    kept = {k: v for k, v in upstream.headers.items() if k.lower() in PASSED_RESPONSE_HEADERS}
    kept.update(allowance.headers())
    settle = _Settlement(request, limits, caller, allowance, estimate)
    if not upstream.headers.get("content-type", "").startswith("text/event-stream"):
        try:
            content = await upstream.aread()
        except httpx.HTTPError:
            raise errors.unavailable("The model API stopped answering; try again shortly.") from None
        finally:
            await stack.aclose()
        await settle(_total_tokens(content))
        return Response(content, status_code=upstream.status_code, headers=kept)

    async def relay() -> AsyncIterator[bytes]:
        scanner = _UsageScanner()
        try:
            async for chunk in upstream.aiter_raw():
                scanner.feed(chunk)
                yield chunk
        finally:
            await stack.aclose()
            await settle(scanner.total_tokens)

    kept["cache-control"] = "no-cache"
    return StreamingResponse(relay(), status_code=upstream.status_code, headers=kept)


class _Settlement:
    """Replaces a request's token estimate with what the answer reports, once the answer has been read."""

    def __init__(
        self, request: Request, limits: KeyLimits, caller: Caller, allowance: Allowance, estimate: int
    ) -> None:
        self.db = context_of(request).db
        self.limits = limits
        self.key_id = caller.credential_id
        self.allowance = allowance
        self.estimate = estimate

    async def __call__(self, used: int | None) -> None:
        if used is not None:
            await self.limits.settle(self.db, self.key_id, self.allowance, self.estimate, used)


def _total_tokens(content: bytes) -> int | None:
    try:
        answer = json.loads(content)
    except ValueError:
        return None
    usage = answer.get("usage") if isinstance(answer, dict) else None
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    return total if isinstance(total, int) else None


class _UsageScanner:
    """Finds the usage chunk (``stream_options.include_usage``) in a relayed event stream."""

    def __init__(self) -> None:
        self._pending = b""
        self.total_tokens: int | None = None

    def feed(self, chunk: bytes) -> None:
        self._pending += chunk
        *events, self._pending = self._pending.split(b"\n\n")
        for event in events:
            if event.startswith(b"data: {") and b'"usage"' in event:
                self.total_tokens = _total_tokens(event[len(b"data: ") :]) or self.total_tokens


def _why_not_allowed(role: str | None) -> str:
    """What a refused key's creator is told: a viewer never runs agents; anyone else no longer may."""
    if role == "viewer":
        return "This API key was made by a viewer of its workspace, and viewers do not run agents; ask an owner."
    return "This API key's creator can no longer run agents in its workspace."
