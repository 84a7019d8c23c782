"""Forwarding ``/api/*`` to the service that owns it, with the gateway's token and the verified principal."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
from agentworks_platform.app import context_of
from agentworks_platform.errors import AppError, Unauthenticated
from agentworks_platform.internal_http import InternalClient
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from agentworks_gateway.security import Caller

MAX_BODY_BYTES = 2 * 1024 * 1024
FORWARDED_RESPONSE_HEADERS = ("content-type", "retry-after", "location", "content-disposition", "etag", "cache-control")
FORWARDED_REQUEST_HEADERS = ("content-type", "if-none-match")
# Owning service by path; the first match wins and core owns everything else.
OWNERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/api/runs/[^/]+/cancel$"), "orchestrator"),
    (re.compile(r"^/api/projects/[^/]+/copilot$"), "orchestrator"),
    (re.compile(r"^/api/workspaces/[^/]+/(usage|charges\.csv|billing|invoices(/[^/]+)?|budgets(/.+)?)$"), "billing"),
)
STREAMED = re.compile(r"^/api/projects/[^/]+/copilot$")
DEFAULT_OWNER = "core"
SERVICES = ("core", "orchestrator", "billing")
OPENAPI_TTL_SECONDS = 60

router = APIRouter(include_in_schema=False)


def owner_of(path: str) -> str:
    return next((service for pattern, service in OWNERS if pattern.match(path)), DEFAULT_OWNER)


def _clients(request: Request) -> dict[str, InternalClient]:
    extras = context_of(request).extras
    return {service: extras[service] for service in SERVICES}


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


class OpenApiMerger:
    """The public API document: the gateway's own routes plus every ``/api`` route of the services."""

    def __init__(self) -> None:
        self._cached: dict[str, Any] | None = None
        self._at = 0.0

    async def document(self, request: Request) -> dict[str, Any]:
        if self._cached is not None and time.monotonic() - self._at < OPENAPI_TTL_SECONDS:
            return self._cached
        document = request.app.openapi()
        merged = {
            **document,
            "paths": dict(document["paths"]),
            "components": {"schemas": dict(document.get("components", {}).get("schemas", {}))},
        }
        for client in _clients(request).values():
            try:
                response = await client.request("GET", "/openapi.json")
            except httpx.HTTPError:
                continue
            if response.status_code != 200:
                continue
            upstream = response.json()
            merged["paths"].update({p: v for p, v in upstream.get("paths", {}).items() if p.startswith("/api/")})
            merged["components"]["schemas"].update(upstream.get("components", {}).get("schemas", {}))
        self._cached, self._at = merged, time.monotonic()
        return merged


MERGER = OpenApiMerger()


@router.get("/api/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(await MERGER.document(request))


@router.get("/api/docs")
async def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="AgentWorks API")


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> Response:
    """Stripe calls this public URL; billing verifies the signature on the untouched body."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "stripe-signature")}
    try:
        upstream = await _clients(request)["billing"].request(
            "POST", "/webhooks/stripe", content=await _body(request), headers=headers
        )
    except httpx.HTTPError:
        return Response(status_code=503, headers={"Retry-After": "30"})
    return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")


# Registered last so the documentation routes above take precedence.
@router.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def forward(path: str, request: Request) -> Response:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise Unauthenticated("Sign in first, or send an API key as 'Authorization: Bearer aw_…'.")
    client = _clients(request)[owner_of(f"/api/{path}")]
    headers = caller.principal.headers()
    headers.update({k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS})
    if STREAMED.match(f"/api/{path}"):
        return await _forward_stream(client, request, f"/api/{path}", headers)
    try:
        upstream = await client.request(
            request.method,
            f"/api/{path}",
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
