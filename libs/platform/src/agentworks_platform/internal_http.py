"""Internal HTTP between services: ID-token auth, trace propagation, retries for idempotent calls."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from opentelemetry.propagate import inject
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from agentworks_platform.service_auth import TokenSource

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class UpstreamStatusError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url} -> {response.status_code}")
        self.response = response


def _backoff(state: RetryCallState) -> float:
    """50 ms doubling per attempt, capped at 1 s, plus up to 50 ms of jitter."""
    return float(min(1.0, 0.05 * 2 ** (state.attempt_number - 1)) + random.uniform(0, 0.05))


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, UpstreamStatusError):
        return exc.response.status_code in RETRYABLE_STATUS
    return isinstance(exc, httpx.TransportError)


class InternalClient:
    """Calls another service with a token whose audience is that service's base URL."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._attempts = attempts
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; idempotent ones are retried on transport errors and 429/502/503/504.

        The last response is returned whatever its status; only a transport failure raises.
        """
        retry = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        attempts = self._attempts if retry else 1
        response: httpx.Response | None = None
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            reraise=True,
            wait=_backoff,
            retry=retry_if_exception(_retryable),
        ):
            with attempt:
                response = await self._send(method, path, headers or {}, kwargs)
                final = attempt.retry_state.attempt_number >= attempts
                if response.status_code in RETRYABLE_STATUS and not final:
                    raise UpstreamStatusError(response)
        assert response is not None
        return response

    async def _send(self, method: str, path: str, headers: dict[str, str], kwargs: dict[str, Any]) -> httpx.Response:
        outgoing = dict(headers)
        outgoing["authorization"] = f"Bearer {await self._tokens.token_for(self.base_url)}"
        inject(outgoing)
        return await self._client.request(method, path, headers=outgoing, **kwargs)

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        """A streamed request (server-sent events); never retried, the caller reads the body as it comes."""
        outgoing = dict(headers or {})
        outgoing["authorization"] = f"Bearer {await self._tokens.token_for(self.base_url)}"
        inject(outgoing)
        async with self._client.stream(method, path, headers=outgoing, **kwargs) as response:
            yield response

    async def aclose(self) -> None:
        await self._client.aclose()
