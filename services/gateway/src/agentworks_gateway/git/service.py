"""Relaying a person's git request to the orchestrator, which owns the repositories: both bodies stream through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack

import httpx
from agentworks_platform.internal_http import InternalClient
from fastapi import Request
from fastapi.responses import StreamingResponse

PASSED_RESPONSE_HEADERS = ("content-type", "cache-control", "expires", "pragma")


class BodyTooLargeError(Exception):
    """The request's body went past the gateway's limit for a git request."""


# A clone or push of a big repository streams for minutes; between two chunks git never waits this long.
RELAY_TIMEOUT = httpx.Timeout(600.0, connect=5.0)


async def relay(
    orchestrator: InternalClient, request: Request, path: str, headers: Mapping[str, str], max_body_bytes: int
) -> StreamingResponse | None:
    """The orchestrator's answer to the request sent on to ``path``, streamed back as it comes; None when the
    orchestrator cannot be reached. The request's body is sent whole before the answer begins (HTTP/1.1 to the
    orchestrator), so a body that goes past ``max_body_bytes`` raises :class:`BodyTooLargeError` before anything is
    answered: the orchestrator sees its request cut short, and git refuses a truncated pack, landing nothing."""
    stack = AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(
            orchestrator.stream(
                request.method,
                path,
                params=request.url.query,
                content=_body(request, max_body_bytes),
                headers=dict(headers),
                timeout=RELAY_TIMEOUT,
            )
        )
    except httpx.HTTPError:
        await stack.aclose()
        return None
    except BodyTooLargeError:
        await stack.aclose()
        raise
    kept = {k: v for k, v in upstream.headers.items() if k.lower() in PASSED_RESPONSE_HEADERS}
    return StreamingResponse(_chunks(upstream, stack), status_code=upstream.status_code, headers=kept)


async def _chunks(upstream: httpx.Response, stack: AsyncExitStack) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await stack.aclose()


async def _body(request: Request, max_body_bytes: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_body_bytes:
            raise BodyTooLargeError
        if chunk:
            yield chunk
