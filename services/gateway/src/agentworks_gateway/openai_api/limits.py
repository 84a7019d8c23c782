"""Requests and tokens a minute per API key on ``/v1``, counted in the gateway's database so every instance
shares them, reported in the ``x-ratelimit-*`` headers OpenAI sends.

A request's tokens are estimated before it is forwarded, as OpenAI estimates them: a token for every four
bytes of the request plus the output it asks for at most (``max_completion_tokens``, ``max_tokens`` or
``max_output_tokens``). Once the answer says how many tokens the call used, the window is corrected to that.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass

from agentworks_platform.db import Database, commit_without_waiting
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.openai_api.errors import OpenAIError
from agentworks_gateway.ratelimit import service as ratelimit

WINDOW_SECONDS = 60
BYTES_PER_TOKEN = 4
OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def estimated_tokens(body: bytes) -> int:
    """What a request may cost in tokens, before it runs."""
    if not body:
        return 0
    asked = 0
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        asked = next((v for k in OUTPUT_LIMITS if isinstance(v := parsed.get(k), int) and v > 0), 0)
    return math.ceil(len(body) / BYTES_PER_TOKEN) + asked


def duration(seconds: int) -> str:
    """A reset time as OpenAI writes it: ``12s``, ``1m0s``."""
    minutes, rest = divmod(max(0, seconds), 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


@dataclass(frozen=True, slots=True)
class Allowance:
    """The key's two windows after this request was counted."""

    requests: ratelimit.Window
    tokens: ratelimit.Window
    counted_at: float

    def headers(self) -> dict[str, str]:
        now = int(self.counted_at)
        headers: dict[str, str] = {}
        for name, window in (("requests", self.requests), ("tokens", self.tokens)):
            headers[f"x-ratelimit-limit-{name}"] = str(window.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(window.remaining)
            headers[f"x-ratelimit-reset-{name}"] = duration(window.resets_at - now)
        return headers


class KeyLimits:
    """The ``/v1`` limits of every API key."""

    def __init__(self, requests_per_minute: int, tokens_per_minute: int) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute

    async def admit(self, session: AsyncSession, key_id: uuid.UUID, estimate: int) -> Allowance:
        """Count the request and its estimated tokens; past either limit, a 429 saying which and when to retry.
        Tokens of a refused request are not kept: only what was let through uses the window."""
        now = ratelimit.clock()
        requests = await ratelimit.hit(session, _bucket("rpm", key_id), self.requests_per_minute, WINDOW_SECONDS, now)
        if requests.exceeded:
            tokens = await ratelimit.peek(session, _bucket("tpm", key_id), self.tokens_per_minute, WINDOW_SECONDS, now)
            raise _refusal("requests", requests, 1, Allowance(requests, tokens, now))
        tokens = await ratelimit.hit(
            session, _bucket("tpm", key_id), self.tokens_per_minute, WINDOW_SECONDS, now, amount=estimate
        )
        if tokens.exceeded:
            await ratelimit.hit(session, _bucket("tpm", key_id), self.tokens_per_minute, WINDOW_SECONDS, now, -estimate)
            kept = ratelimit.Window(tokens.limit, tokens.used - estimate, tokens.resets_at)
            raise _refusal("tokens", kept, estimate, Allowance(requests, kept, now))
        return Allowance(requests, tokens, now)

    async def settle(self, db: Database, key_id: uuid.UUID, allowance: Allowance, estimate: int, used: int) -> None:
        """Replace the estimate by the tokens the call used, in the window the request was counted in."""
        if used == estimate:
            return
        async with db.transaction() as session:
            await commit_without_waiting(session)
            await ratelimit.hit(
                session,
                _bucket("tpm", key_id),
                self.tokens_per_minute,
                WINDOW_SECONDS,
                allowance.counted_at,
                amount=used - estimate,
            )


def _bucket(kind: str, key_id: uuid.UUID) -> str:
    return f"{kind}:{key_id}"


def _refusal(kind: str, window: ratelimit.Window, requested: int, allowance: Allowance) -> OpenAIError:
    wait = window.retry_after(allowance.counted_at)
    label = "requests per minute (RPM)" if kind == "requests" else "tokens per minute (TPM)"
    message = (
        f"Rate limit reached for {label} of this API key: limit {window.limit}, used {window.used}, "
        f"requested {requested}. Please try again in {wait}s."
    )
    headers = {**allowance.headers(), "Retry-After": str(wait)}
    return OpenAIError(429, kind, "rate_limit_exceeded", message, headers)
