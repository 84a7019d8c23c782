"""Routing one call: pick the provider for the model, protect it, retry what may succeed, fall back, and
record every attempt's usage and cost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from agentworks_provider_router.pricing import PriceTable
from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    ImageRequest,
    ImageResult,
    Provider,
    ProviderError,
)
from agentworks_provider_router.resilience import CircuitBreaker, LimitSettings, ProviderLimiter

MILLION = Decimal(1_000_000)
OFFLINE_TEXT_MODEL = "offline-small"
OFFLINE_IMAGE_MODEL = "offline-image"


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Who the call is for: travels into every usage record."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID
    run_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One provider attempt, successful or not, as billing will see it."""

    meta: CallMeta
    provider: str
    model: str
    requested_provider: str
    attempt: int
    outcome: str
    input_tokens: int
    output_tokens: int
    images: int
    cost: Decimal
    latency_ms: int
    error_code: str | None = None


Recorder = Callable[[AttemptRecord], Awaitable[None]]


@dataclass
class Outcome:
    """How the call went, known once the stream has finished."""

    provider: str = ""
    model: str = ""
    requested_provider: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    attempts: int = 0
    finish_reason: str = "stop"


@dataclass
class RouterPolicy:
    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 30.0
    first_byte_timeout: float = 60.0
    idle_timeout: float = 60.0
    fallbacks: dict[str, list[str]] = field(default_factory=dict)
    limits: dict[str, LimitSettings] = field(default_factory=dict)
    offline_when_unconfigured: bool = False
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.retryable


class Router:
    """Owns the providers, their breakers and limiters; every route goes through here."""

    def __init__(
        self, prices: PriceTable, providers: dict[str, Provider], policy: RouterPolicy, record: Recorder
    ) -> None:
        self.prices = prices
        self.providers = providers
        self.policy = policy
        self._record = record
        self.breakers = {n: CircuitBreaker(policy.breaker_threshold, policy.breaker_cooldown) for n in providers}
        self.limiters = {n: ProviderLimiter(policy.limits.get(n, LimitSettings())) for n in providers}
        self._owners = {model: provider for provider, model in prices.model_ids}

    def resolve(self, model: str) -> str:
        """The model actually called: a model of an unconfigured provider runs offline when allowed."""
        owner = self._owners.get(model)
        if owner is not None and owner not in self.providers and self.policy.offline_when_unconfigured:
            return OFFLINE_IMAGE_MODEL if self.prices.is_image_model(model) else OFFLINE_TEXT_MODEL
        return model

    def provider_of(self, model: str) -> str:
        owner = self._owners.get(model)
        if owner is None or owner not in self.providers:
            raise ProviderError(
                f"No provider serves model {model!r}; see GET /v1/models.", 404, False, code="model_not_found"
            )
        return owner

    def chain(self, model: str) -> list[str]:
        """The model (resolved), then its configured fallbacks (resolved), each once."""
        ordered = [self.resolve(m) for m in (model, *self.policy.fallbacks.get(model, []))]
        return list(dict.fromkeys(ordered))

    def _owner(self, model: str) -> str:
        owner = self._owners.get(model)
        if owner is None:
            raise ProviderError(
                f"No provider serves model {model!r}; see GET /v1/models.", 404, False, code="model_not_found"
            )
        return owner

    def cost(self, model: str, input_tokens: int, output_tokens: int, images: int = 0) -> Decimal:
        price = self.prices.current(model, date.today())
        if price is None:
            return Decimal(0)
        return (price.input_per_million * input_tokens + price.output_per_million * output_tokens) / MILLION + (
            price.per_image * images
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.max_retry_after)
        return float(min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (state.attempt_number - 1)))

    # ---- chat ----

    async def stream_chat(self, request: ChatRequest, meta: CallMeta, outcome: Outcome) -> AsyncIterator[Delta]:
        """Deltas of the first provider in the chain that answers; ``outcome`` is filled as it goes."""
        requested = self._owner(request.model)
        outcome.requested_provider = requested
        last: ProviderError | None = None
        for model in self.chain(request.model):
            estimate = sum(len(m.content) // 4 + 4 for m in request.messages) + (request.max_tokens or 512)
            try:
                async with self.limiters[self.provider_of(model)].admit(estimate):
                    stream, first = await self._open(request, model, meta, requested, outcome)
                    async for delta in self._finish(stream, first, request, model, meta, requested, outcome):
                        yield delta
                    return
            except ProviderError as exc:
                if exc.partial or exc.code in ("invalid_request", "model_not_found"):
                    raise
                last = exc
        raise last or ProviderError("No provider could answer.", 503, code="providers_unavailable")

    async def _open(
        self, request: ChatRequest, model: str, meta: CallMeta, requested: str, outcome: Outcome
    ) -> tuple[AsyncIterator[Delta], Delta]:
        name = self.provider_of(model)
        breaker = self.breakers[name]
        if not breaker.allow():
            raise ProviderError(
                f"{name} is failing; its circuit is open.", 503, True, breaker.retry_after(), "circuit_open"
            )
        routed = ChatRequest(
            model,
            request.messages,
            request.max_tokens,
            request.temperature,
            request.tools,
            request.tool_choice,
            request.stop,
        )
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            reraise=True,
        ):
            with attempt:
                outcome.attempts += 1
                started = time.perf_counter()
                try:
                    stream = self.providers[name].stream_chat(routed).__aiter__()
                    async with asyncio.timeout(self.policy.first_byte_timeout):
                        first = await anext(stream)
                except (ProviderError, TimeoutError, StopAsyncIteration) as exc:
                    error = _as_provider_error(exc)
                    if error.code != "invalid_request":
                        breaker.failure()
                    await self._attempt(meta, name, model, requested, outcome.attempts, error, started)
                    raise error from None
        return stream, first

    async def _finish(
        self,
        stream: AsyncIterator[Delta],
        first: Delta,
        request: ChatRequest,
        model: str,
        meta: CallMeta,
        requested: str,
        outcome: Outcome,
    ) -> AsyncIterator[Delta]:
        name = self.provider_of(model)
        started = time.perf_counter()
        text: list[str] = []
        delta = first
        try:
            while True:
                text.append(delta.content)
                if delta.finish_reason:
                    outcome.finish_reason = delta.finish_reason
                if delta.input_tokens is not None:
                    outcome.input_tokens = delta.input_tokens
                if delta.output_tokens is not None:
                    outcome.output_tokens = delta.output_tokens
                yield delta
                async with asyncio.timeout(self.policy.idle_timeout):
                    delta = await anext(stream)
        except StopAsyncIteration:
            pass
        except (ProviderError, TimeoutError) as exc:
            error = _as_provider_error(exc)
            error.partial = True
            self.breakers[name].failure()
            outcome.output_tokens = outcome.output_tokens or max(1, len("".join(text)) // 4)
            outcome.input_tokens = outcome.input_tokens or sum(len(m.content) // 4 for m in request.messages)
            await self._attempt(meta, name, model, requested, outcome.attempts, error, started, outcome)
            raise error from None
        await self._succeeded(meta, name, model, requested, outcome, started)

    async def _succeeded(
        self, meta: CallMeta, name: str, model: str, requested: str, outcome: Outcome, started: float, images: int = 0
    ) -> None:
        """Close the breaker, cost the call and record it as this call's successful attempt."""
        self.breakers[name].success()
        outcome.provider, outcome.model = name, model
        outcome.cost = self.cost(model, outcome.input_tokens, outcome.output_tokens, images)
        await self._record(
            AttemptRecord(
                meta,
                name,
                model,
                requested,
                outcome.attempts,
                "success",
                outcome.input_tokens,
                outcome.output_tokens,
                images,
                outcome.cost,
                _ms(started),
            )
        )

    async def _attempt(
        self,
        meta: CallMeta,
        name: str,
        model: str,
        requested: str,
        attempt: int,
        error: ProviderError,
        started: float,
        partial: Outcome | None = None,
    ) -> None:
        input_tokens = partial.input_tokens if partial else 0
        output_tokens = partial.output_tokens if partial else 0
        cost = self.cost(model, input_tokens, output_tokens)
        outcome = "timeout" if error.code == "timeout" else "error"
        await self._record(
            AttemptRecord(
                meta,
                name,
                model,
                requested,
                attempt,
                outcome,
                input_tokens,
                output_tokens,
                0,
                cost,
                _ms(started),
                error.code,
            )
        )

    # ---- images ----

    async def images(self, request: ImageRequest, meta: CallMeta, outcome: Outcome) -> ImageResult:
        requested = self._owner(request.model)
        outcome.requested_provider = requested
        last: ProviderError | None = None
        for model in self.chain(request.model):
            name = self.provider_of(model)
            if not self.breakers[name].allow():
                last = ProviderError(f"{name} is failing; its circuit is open.", 503, True, None, "circuit_open")
                continue
            started = time.perf_counter()
            outcome.attempts += 1
            try:
                async with self.limiters[name].admit(len(request.prompt) // 4 + 8):
                    async with asyncio.timeout(self.policy.first_byte_timeout):
                        result = await self.providers[name].generate_images(
                            ImageRequest(model, request.prompt, request.n, request.size)
                        )
            except (ProviderError, TimeoutError) as exc:
                last = _as_provider_error(exc)
                self.breakers[name].failure()
                await self._attempt(meta, name, model, requested, outcome.attempts, last, started)
                if not last.retryable:
                    raise last from None
                continue
            outcome.input_tokens = result.input_tokens
            await self._succeeded(meta, name, model, requested, outcome, started, len(result.images))
            return result
        raise last or ProviderError("No provider could answer.", 503, code="providers_unavailable")

    def health(self) -> dict[str, Any]:
        return {
            name: {
                "circuit": self.breakers[name].state.value,
                "consecutive_failures": self.breakers[name].failures,
                "retry_after_seconds": round(self.breakers[name].retry_after(), 1),
                "in_flight": self.limiters[name].in_flight,
                "waiting": self.limiters[name].waiting,
            }
            for name in self.providers
        }

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()


def _as_provider_error(exc: BaseException) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, TimeoutError):
        return ProviderError("The provider did not answer in time.", 504, True, None, "timeout")
    return ProviderError("The provider closed the stream without answering.", 502, True, None, "empty_stream")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
