"""Forwarding a public request to the service that owns it, with the gateway's token and the verified principal.

Ownership comes from the routing table (:mod:`agentworks_gateway.routes`); a request matching no public route is
404 and never leaves the gateway. The upstream path is the checked raw path (:mod:`agentworks_gateway.paths`),
forwarded verbatim, so no later hop can decode or resolve it into something else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from typing import Any

import httpx
from agentworks_platform.app import context_of
from agentworks_platform.errors import AppError, NotFound, Unauthenticated
from agentworks_platform.internal_http import InternalClient
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from agentworks_gateway.paths import SAFE_PATH_STATE, SafePath, checked_path, raw_path_of
from agentworks_gateway.routes import RouteTable, merged_document
from agentworks_gateway.security import Caller
from agentworks_gateway.state import gateway_state

MAX_BODY_BYTES = 2 * 1024 * 1024
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "retry-after",
    "location",
    "content-disposition",
    "etag",
    "cache-control",
    "x-content-type-options",
)
FORWARDED_REQUEST_HEADERS = ("content-type", "if-none-match")
GATEWAY = "gateway"
# Operations answered with server-sent events, relayed as they arrive (their documents cannot say so).
STREAMED = frozenset({("POST", "/api/projects/{project_id}/copilot")})

router = APIRouter(include_in_schema=False)


class PublicApi:
    """The public surface: the routing table and the documents it was derived from."""

    def __init__(self, table: RouteTable, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self.table = table
        self.documents = documents
        self._merged: dict[str, Any] | None = None

    def document(self, own: Mapping[str, Any]) -> dict[str, Any]:
        if self._merged is None:
            self._merged = merged_document(own, self.documents)
        return self._merged


def _public_api(request: Request) -> PublicApi:
    return gateway_state(context_of(request)).public_api


def _safe_path(request: Request) -> SafePath:
    safe: SafePath | None = request.scope.get("state", {}).get(SAFE_PATH_STATE)
    return safe if safe is not None else checked_path(raw_path_of(request.scope))


def _client(request: Request, service: str) -> InternalClient:
    return gateway_state(context_of(request)).upstreams[service]


def _passed_on(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The named request headers, for the upstream call; a value that is not printable ASCII is a 400."""
    kept = {k: v for k, v in request.headers.items() if k.lower() in names}
    for name, value in kept.items():
        if not (value.isascii() and value.isprintable()):
            raise AppError(f"The {name} header must be printable ASCII.", code="invalid_header", status_code=400)
    return kept


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise AppError("The request body is too large (2 MB at most).", code="payload_too_large", status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise AppError("The request body is too large (2 MB at most).", code="payload_too_large", status_code=413)
    return body


@router.get("/api/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(_public_api(request).document(request.app.openapi()))


@router.get("/api/docs")
async def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="AgentWorks API")


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> Response:
    """Stripe calls this public URL; billing verifies the signature on the untouched body."""
    headers = _passed_on(request, ("content-type", "stripe-signature"))
    try:
        upstream = await _client(request, "billing").request(
            "POST", "/webhooks/stripe", content=await _body(request), headers=headers
        )
    except httpx.HTTPError:
        return Response(status_code=503, headers={"Retry-After": "30"})
    return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")


# Registered last so the documentation routes above take precedence. Every method reaches the table, so a
# method no operation answers (OPTIONS, HEAD, TRACE too) is a 405 naming the path's real methods.
@router.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"])
async def forward(request: Request) -> Response:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise Unauthenticated("Sign in first, or send an API key as 'Authorization: Bearer aw_…'.")
    safe = _safe_path(request)
    route = _public_api(request).table.find(request.method, safe.segments)
    if route.owner == GATEWAY:  # the gateway's own routes answer before this one
        raise NotFound("No such endpoint.")
    client = _client(request, route.owner)
    headers = caller.principal.headers()
    headers.update(_passed_on(request, FORWARDED_REQUEST_HEADERS))
    if (request.method, route.template) in STREAMED:
        return await _forward_stream(client, request, safe.raw, headers)
    try:
        upstream = await client.request(
            request.method,
            safe.raw,
            params=request.query_params.multi_items(),
            content=await _body(request),
            headers=headers,
        )
    except httpx.HTTPError:
        raise AppError(
            "That part of AgentWorks is unavailable right now; try again shortly.",
            code="unavailable",
            status_code=503,
            headers={"Retry-After": "5"},
        ) from None
    kept = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
    return Response(upstream.content, status_code=upstream.status_code, headers=kept)


async def _forward_stream(client: InternalClient, request: Request, path: str, headers: dict[str, str]) -> Response:
    """Relay a server-sent-events answer as it arrives (the CoPilot console)."""
    body = await _body(request)
    stack = AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(client.stream(request.method, path, content=body, headers=headers))
    except httpx.HTTPError:
        await stack.aclose()
        raise AppError(
            "That part of AgentWorks is unavailable right now; try again shortly.",
            code="unavailable",
            status_code=503,
            headers={"Retry-After": "5"},
        ) from None
    if upstream.status_code != 200:
        content = await upstream.aread()
        await stack.aclose()
        kept = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
        return Response(content, status_code=upstream.status_code, headers=kept)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        finally:
            await stack.aclose()

    return StreamingResponse(relay(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
