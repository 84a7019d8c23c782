"""Routing one call: pick the provider for the model, protect it, retry what may succeed, fall back, and
record every attempt's usage and cost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from agentworks_provider_router.pricing import PriceTable, Tokens
from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    Embedder,
    EmbeddingRequest,
    EmbeddingResult,
    ImageRequest,
    ImageResult,
    Provider,
    ProviderError,
)
from agentworks_provider_router.resilience import Breakers, BreakerState, LimitSettings, Permit, ProviderLimiter

OFFLINE_TEXT_MODEL = "offline-small"
OFFLINE_IMAGE_MODEL = "offline-image"
OFFLINE_EMBEDDING_MODEL = "offline-embedding"
T = TypeVar("T")
# Errors that say nothing about the model's health: the caller's request, or the caller's quota and rate.
NOT_BREAKER_FAILURES = frozenset(
    {"invalid_request", "model_not_found", "provider_rate_limited", "quota_exhausted", "unsupported_parameter"}
)


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Who the call is for: travels into every usage record. An agent's call names its project; a call made
    with a workspace API key through the gateway names the key instead."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID | None
    run_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None
    agent: str | None = None
    api_key_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One provider attempt, successful or not, as billing will see it. ``estimated`` says the tokens are
    the router's estimate because the provider never reported them (a cut or cancelled stream)."""

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
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False


Recorder = Callable[[AttemptRecord], Awaitable[None]]


@dataclass
class Outcome:
    """How the call went, known once the stream has finished; provider and model once one answers."""

    provider: str = ""
    model: str = ""
    requested_provider: str = ""
    requested_model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False
    cost: Decimal = Decimal(0)
    attempts: int = 0
    finish_reason: str = "stop"

    @property
    def fallback(self) -> bool:
        return bool(self.model) and self.model != self.requested_model

    @property
    def tokens(self) -> Tokens:
        return Tokens(
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        )


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


def counts_against_breaker(error: ProviderError) -> bool:
    """Only the model's own failures open its circuit: not bad requests, rate limits or exhausted quota."""
    return error.code not in NOT_BREAKER_FAILURES and error.status != 429


def estimate_tokens(text: str) -> int:
    """About four characters a token: the estimate used when a provider never reports its count."""
    return (len(text) + 3) // 4


def _prompt_estimate(request: ChatRequest) -> int:
    return sum(estimate_tokens(m.content) + 4 for m in request.messages)


class Router:
    """Owns the providers, their breakers and limiters; every route goes through here."""

    def __init__(
        self,
        prices: PriceTable,
        providers: dict[str, Provider],
        policy: RouterPolicy,
        record: Recorder,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.prices = prices
        self.providers = providers
        self.policy = policy
        self._record = record
        self._today = today
        self.breakers = Breakers(policy.breaker_threshold, policy.breaker_cooldown, clock)
        self.limiters = {n: ProviderLimiter(policy.limits.get(n, LimitSettings())) for n in providers}
        self._owners = {model: provider for provider, model in prices.model_ids}
        self._detached: set[asyncio.Task[None]] = set()

    def resolve(self, model: str) -> str:
        """The model actually called: a model of an unconfigured provider runs offline when allowed."""
        owner = self._owners.get(model)
        if owner is not None and owner not in self.providers and self.policy.offline_when_unconfigured:
            if self.prices.is_embedding_model(model):
                return OFFLINE_EMBEDDING_MODEL
            return OFFLINE_IMAGE_MODEL if self.prices.is_image_model(model) else OFFLINE_TEXT_MODEL
        return model

    def provider_of(self, model: str) -> str:
        owner = self._owner(model)
        if owner not in self.providers:
            raise ProviderError(
                f"No provider serves model {model!r}; see GET /v1/models.", 404, False, code="model_not_found"
            )
        return owner

    def chain(self, model: str) -> list[str]:
        """The model (resolved), then its configured fallbacks (resolved), each once."""
        ordered = [self.resolve(m) for m in (model, *self.policy.fallbacks.get(model, []))]
        return list(dict.fromkeys(ordered))

    def _owner(self, model: str) -> str:
        """The provider of a model priced today; a model without a price is refused, never billed at zero."""
        owner = self._owners.get(model)
        if owner is None or self.prices.current(model, self._today()) is None:
            raise ProviderError(
                f"No provider serves model {model!r}; see GET /v1/models.", 404, False, code="model_not_found"
            )
        return owner

    def cost(self, model: str, tokens: Tokens, images: int = 0) -> Decimal:
        price = self.prices.current(model, self._today())
        if price is None:  # unreachable for a routed model: _owner refuses models without a price
            raise ProviderError(f"Model {model!r} has no price.", 404, False, code="model_not_found")
        return price.cost(tokens, images)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.max_retry_after)
        return float(min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (state.attempt_number - 1)))

    # ---- chat ----

    async def stream_chat(self, request: ChatRequest, meta: CallMeta, outcome: Outcome) -> AsyncGenerator[Delta, None]:
        """Deltas of the first model in the chain that answers; ``outcome`` is filled as it goes."""
        requested = self._owner(request.model)
        if self.prices.is_embedding_model(request.model):
            raise ProviderError(
                f"{request.model!r} is an embedding model; call POST /v1/embeddings.",
                400,
                False,
                code="invalid_request",
                param="model",
            )
        outcome.requested_provider, outcome.requested_model = requested, request.model
        last: ProviderError | None = None
        for model in self.chain(request.model):
            name = self.provider_of(model)
            permit = self.breakers.of(name, model).enter()
            if permit is None:
                last = self._circuit_open(name, model)
                continue
            try:
                async with self.limiters[name].admit(_prompt_estimate(request) + (request.max_tokens or 512)):
                    routed = replace(request, model=model)
                    stream, first = await self._open(routed, name, permit, meta, requested, outcome)
                    async for delta in self._finish(stream, first, routed, name, permit, meta, requested, outcome):
                        yield delta
                    return
            except ProviderError as exc:
                if exc.partial or exc.code in ("invalid_request", "model_not_found", "unsupported_parameter"):
                    raise
                last = exc
            finally:
                permit.release()
        raise last or ProviderError("No provider could answer.", 503, code="providers_unavailable")

    def _circuit_open(self, name: str, model: str) -> ProviderError:
        retry_after = self.breakers.of(name, model).retry_after()
        return ProviderError(f"{name} {model} is failing; its circuit is open.", 503, True, retry_after, "circuit_open")

    async def _open(
        self, request: ChatRequest, name: str, permit: Permit, meta: CallMeta, requested: str, outcome: Outcome
    ) -> tuple[AsyncIterator[Delta], Delta]:
        """The provider's stream and its first delta, retrying what may succeed while the circuit stays closed."""
        breaker = self.breakers.of(name, request.model)

        def retry(exc: BaseException) -> bool:
            return isinstance(exc, ProviderError) and exc.retryable and breaker.state is BreakerState.CLOSED

        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(retry),
            reraise=True,
        ):
            with attempt:
                outcome.attempts += 1
                started = time.perf_counter()
                call = Outcome(attempts=outcome.attempts)
                try:
                    stream = self.providers[name].stream_chat(request).__aiter__()
                    async with asyncio.timeout(self.policy.first_byte_timeout):
                        first = await anext(stream)
                except (ProviderError, TimeoutError, StopAsyncIteration) as exc:
                    error = _as_provider_error(exc)
                    if counts_against_breaker(error):
                        permit.failure()
                    await self._record_failure(meta, name, request.model, requested, call, error, started)
                    raise error from None
                except (asyncio.CancelledError, GeneratorExit):
                    # The caller went away while the provider was thinking: the prompt was sent and is billed.
                    call.input_tokens, call.estimated = _prompt_estimate(request), True
                    self._detach(self._cancelled(meta, name, request.model, requested, call, started))
                    raise
        outcome.provider, outcome.model = name, request.model
        return stream, first

    async def _finish(
        self,
        stream: AsyncIterator[Delta],
        first: Delta,
        request: ChatRequest,
        name: str,
        permit: Permit,
        meta: CallMeta,
        requested: str,
        outcome: Outcome,
    ) -> AsyncIterator[Delta]:
        started = time.perf_counter()
        text: list[str] = []
        delta = first
        output_reported = False
        try:
            while True:
                text.append(delta.content + (delta.tool_call.arguments if delta.tool_call else ""))
                output_reported = _take_usage(delta, outcome) or output_reported
                yield delta
                async with asyncio.timeout(self.policy.idle_timeout):
                    delta = await anext(stream)
        except StopAsyncIteration:
            pass
        except (ProviderError, TimeoutError) as exc:
            error = _as_provider_error(exc)
            error.partial = True
            if counts_against_breaker(error):
                permit.failure()
            _fill_estimates(outcome, request, "".join(text), output_reported)
            await self._record_failure(meta, name, request.model, requested, outcome, error, started)
            raise error from None
        except (asyncio.CancelledError, GeneratorExit):
            # The caller cancelled or died mid-answer: bill what the provider reported, else an estimate.
            _fill_estimates(outcome, request, "".join(text), output_reported)
            self._detach(self._cancelled(meta, name, request.model, requested, outcome, started))
            raise
        permit.success()
        await self._succeeded(meta, name, request.model, requested, outcome, started)

    def _detach(self, recording: Coroutine[Any, Any, None]) -> None:
        """Record outside the caller's task, whose cancellation would cancel the write too."""
        task = asyncio.get_running_loop().create_task(recording)
        self._detached.add(task)
        task.add_done_callback(self._detached.discard)

    async def _succeeded(
        self, meta: CallMeta, name: str, model: str, requested: str, outcome: Outcome, started: float, images: int = 0
    ) -> None:
        """Cost the call and record it as this call's successful attempt."""
        outcome.provider, outcome.model = name, model
        outcome.cost = self.cost(model, outcome.tokens, images)
        await self._record(self._attempt_record(meta, name, model, requested, outcome, "success", started, images))

    async def _cancelled(
        self, meta: CallMeta, name: str, model: str, requested: str, call: Outcome, started: float
    ) -> None:
        await self._record(self._attempt_record(meta, name, model, requested, call, "cancelled", started))

    async def _record_failure(
        self, meta: CallMeta, name: str, model: str, requested: str, call: Outcome, error: ProviderError, started: float
    ) -> None:
        """A failed attempt, with the tokens the provider reported before failing (or the estimate)."""
        outcome = "timeout" if error.code == "timeout" else "error"
        await self._record(self._attempt_record(meta, name, model, requested, call, outcome, started, 0, error.code))

    def _attempt_record(
        self,
        meta: CallMeta,
        name: str,
        model: str,
        requested: str,
        call: Outcome,
        outcome: str,
        started: float,
        images: int = 0,
        error_code: str | None = None,
    ) -> AttemptRecord:
        return AttemptRecord(
            meta,
            name,
            model,
            requested,
            call.attempts,
            outcome,
            call.input_tokens,
            call.output_tokens,
            images,
            self.cost(model, call.tokens, images),
            _ms(started),
            error_code,
            call.cached_input_tokens,
            call.cache_write_tokens,
            call.reasoning_tokens,
            call.estimated,
        )

    # ---- images and embeddings: one request, one answer ----

    async def images(self, request: ImageRequest, meta: CallMeta, outcome: Outcome) -> ImageResult:
        def settle(result: ImageResult, call: Outcome) -> int:
            call.input_tokens = result.input_tokens
            return len(result.images)

        async def attempt(model: str, name: str, permit: Permit) -> ImageResult:
            routed = replace(request, model=model)
            call = partial(self.providers[name].generate_images, routed)
            return await self._single(name, model, permit, meta, outcome, estimate_tokens(request.prompt), call, settle)

        return await self._through_chain(request.model, outcome, attempt)

    async def embeddings(self, request: EmbeddingRequest, meta: CallMeta, outcome: Outcome) -> EmbeddingResult:
        """Vectors from the model (or its fallbacks); an Anthropic, chat or image model is refused with 400."""
        if not self.prices.is_embedding_model(request.model):
            raise ProviderError(
                f"{request.model!r} is not an embedding model; see GET /v1/models.",
                400,
                False,
                code="invalid_request",
                param="model",
            )
        estimate = sum(estimate_tokens(text) for text in request.texts)

        def settle(result: EmbeddingResult, call: Outcome) -> int:
            call.input_tokens = estimate if result.input_tokens is None else result.input_tokens
            call.estimated = result.input_tokens is None
            return 0

        async def attempt(model: str, name: str, permit: Permit) -> EmbeddingResult:
            provider = self.providers[name]
            if not isinstance(provider, Embedder):
                raise ProviderError(
                    f"{name} has no embedding models.", 400, False, code="invalid_request", param="model"
                )
            call = partial(provider.embed, replace(request, model=model))
            return await self._single(name, model, permit, meta, outcome, estimate, call, settle)

        return await self._through_chain(request.model, outcome, attempt)

    async def _through_chain(
        self, model: str, outcome: Outcome, attempt: Callable[[str, str, Permit], Awaitable[T]]
    ) -> T:
        """The first model in the chain whose attempt succeeds; an error that will not go away ends the chain."""
        outcome.requested_provider, outcome.requested_model = self._owner(model), model
        last: ProviderError | None = None
        for candidate in self.chain(model):
            name = self.provider_of(candidate)
            permit = self.breakers.of(name, candidate).enter()
            if permit is None:
                last = self._circuit_open(name, candidate)
                continue
            try:
                return await attempt(candidate, name, permit)
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                last = exc
            finally:
                permit.release()
        raise last or ProviderError("No provider could answer.", 503, code="providers_unavailable")

    async def _single(
        self,
        name: str,
        model: str,
        permit: Permit,
        meta: CallMeta,
        outcome: Outcome,
        estimate: int,
        call: Callable[[], Awaitable[T]],
        settle: Callable[[T, Outcome], int],
    ) -> T:
        """One provider call answered at once, recorded as an attempt. ``estimate`` is the prompt's tokens,
        billed when the caller goes away mid-call; ``settle`` fills the tokens and returns the images made."""
        requested = outcome.requested_provider
        async with self.limiters[name].admit(estimate + 8):
            started = time.perf_counter()
            outcome.attempts += 1
            attempt = Outcome(attempts=outcome.attempts)
            try:
                async with asyncio.timeout(self.policy.first_byte_timeout):
                    result = await call()
            except (ProviderError, TimeoutError) as exc:
                error = _as_provider_error(exc)
                if counts_against_breaker(error):
                    permit.failure()
                await self._record_failure(meta, name, model, requested, attempt, error, started)
                raise error from None
            except asyncio.CancelledError:
                attempt.input_tokens, attempt.estimated = estimate, True
                self._detach(self._cancelled(meta, name, model, requested, attempt, started))
                raise
        permit.success()
        images = settle(result, outcome)
        await self._succeeded(meta, name, model, requested, outcome, started, images)
        return result

    def health(self) -> dict[str, Any]:
        """Per provider its load, and per model it has called its circuit."""
        return {
            name: {
                "in_flight": self.limiters[name].in_flight,
                "waiting": self.limiters[name].waiting,
                "models": {
                    model: {
                        "circuit": breaker.state.value,
                        "consecutive_failures": breaker.failures,
                        "retry_after_seconds": round(breaker.retry_after(), 1),
                    }
                    for model, breaker in self.breakers.of_provider(name).items()
                },
            }
            for name in self.providers
        }

    async def drain(self) -> None:
        """Wait for the usage of cancelled calls, which is written outside the cancelled caller."""
        while self._detached:
            await asyncio.gather(*self._detached, return_exceptions=True)

    async def aclose(self) -> None:
        await self.drain()
        for provider in self.providers.values():
            await provider.aclose()


def _take_usage(delta: Delta, outcome: Outcome) -> bool:
    """Keep what the provider reported so far; True when it reported the output tokens."""
    if delta.finish_reason:
        outcome.finish_reason = delta.finish_reason
    if delta.input_tokens is not None:
        outcome.input_tokens = delta.input_tokens
    if delta.cached_input_tokens is not None:
        outcome.cached_input_tokens = delta.cached_input_tokens
    if delta.cache_write_tokens is not None:
        outcome.cache_write_tokens = delta.cache_write_tokens
    if delta.reasoning_tokens is not None:
        outcome.reasoning_tokens = delta.reasoning_tokens
    if delta.output_tokens is not None:
        outcome.output_tokens = delta.output_tokens
        return True
    return False


def _fill_estimates(outcome: Outcome, request: ChatRequest, text: str, output_reported: bool) -> None:
    """Counts the provider never reported (the stream ended early) are estimated, and marked so."""
    if not outcome.input_tokens:
        outcome.input_tokens, outcome.estimated = _prompt_estimate(request), True
    if not output_reported:
        outcome.output_tokens, outcome.estimated = max(outcome.output_tokens, estimate_tokens(text)), True


def _as_provider_error(exc: BaseException) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, TimeoutError):
        return ProviderError("The provider did not answer in time.", 504, True, None, "timeout")
    return ProviderError("The provider closed the stream without answering.", 502, True, None, "empty_stream")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
