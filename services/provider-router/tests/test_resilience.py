"""The router's breakers, retries and metering, driven directly with a scripted provider and a fake clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import date
from decimal import Decimal

import pytest
from agentworks_provider_router.pricing import ModelPrice, PriceTable, Tokens, load_prices
from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    ImageRequest,
    ImageResult,
    Message,
    ProviderError,
)
from agentworks_provider_router.resilience import BreakerState, CircuitBreaker, LimitSettings
from agentworks_provider_router.routing import AttemptRecord, CallMeta, Outcome, Router, RouterPolicy

META = CallMeta(uuid.uuid4(), uuid.uuid4())
HANG = "hang"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedOpenAI:
    """Answers each model from its script: an error to raise, ``hang`` (never answers) or, when empty, text."""

    name = "openai"

    def __init__(self) -> None:
        self.scripts: dict[str, list[ProviderError | str]] = {}
        self.calls: list[str] = []
        self.hanging = asyncio.Event()

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        self.calls.append(request.model)
        script = self.scripts.get(request.model) or []
        step = script.pop(0) if script else "ok"
        if isinstance(step, ProviderError):
            raise step
        if step == HANG:
            self.hanging.set()
            await asyncio.Event().wait()
        yield Delta(content="hi")
        yield Delta(finish_reason="stop", input_tokens=10, output_tokens=2)

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def server_error() -> ProviderError:
    return ProviderError("The provider failed (500).", 502, True, None, "provider_unavailable")


def rate_limited() -> ProviderError:
    return ProviderError("The provider is rate limiting us.", 429, True, 0.0, "provider_rate_limited")


def quota() -> ProviderError:
    return ProviderError("The provider's quota is exhausted.", 429, False, None, "quota_exhausted")


class Harness:
    def __init__(self, prices: PriceTable | None = None, today: date | None = None, **policy: object) -> None:
        self.clock = Clock()
        self.provider = ScriptedOpenAI()
        self.records: list[AttemptRecord] = []
        self.router = Router(
            prices or load_prices(),
            {"openai": self.provider},
            RouterPolicy(**{"max_attempts": 1, "backoff_base": 0, "breaker_threshold": 2, **policy}),  # type: ignore[arg-type]
            self._record,
            clock=self.clock,
            today=(lambda: today) if today else date.today,
        )

    async def _record(self, record: AttemptRecord) -> None:
        self.records.append(record)

    async def call(self, model: str) -> str:
        request = ChatRequest(model, (Message("user", "hello there"),))
        return "".join([d.content async for d in self.router.stream_chat(request, META, Outcome())])

    def circuit(self, model: str) -> BreakerState:
        return self.router.breakers.of("openai", model).state


async def test_a_cancelled_half_open_probe_lets_the_next_call_probe() -> None:
    harness = Harness(breaker_threshold=1, breaker_cooldown=30.0)
    harness.provider.scripts["gpt-4o"] = [server_error(), HANG]
    with pytest.raises(ProviderError):
        await harness.call("gpt-4o")
    assert harness.circuit("gpt-4o") is BreakerState.OPEN
    harness.clock.now += 31
    probe = asyncio.create_task(harness.call("gpt-4o"))
    await harness.provider.hanging.wait()
    probe.cancel()
    with suppress(asyncio.CancelledError):
        await probe
    assert await harness.call("gpt-4o") == "hi"  # the next caller probes; the circuit is not wedged
    assert harness.circuit("gpt-4o") is BreakerState.CLOSED
    await harness.router.drain()
    assert [r.outcome for r in harness.records] == ["error", "cancelled", "success"]
    cancelled = harness.records[1]
    assert (cancelled.input_tokens, cancelled.output_tokens, cancelled.estimated) == (7, 0, True)


async def test_a_429_storm_on_one_model_leaves_the_circuits_closed_and_a_failing_model_alone_open() -> None:
    harness = Harness(breaker_threshold=2)
    harness.provider.scripts["gpt-4o"] = [rate_limited() for _ in range(6)] + [quota(), quota()]
    for _ in range(8):
        with pytest.raises(ProviderError) as refused:
            await harness.call("gpt-4o")
        assert refused.value.status == 429
    assert harness.circuit("gpt-4o") is BreakerState.CLOSED  # the caller's rate, not the model's health
    harness.provider.scripts["gpt-4o"] = [server_error(), server_error()]
    for _ in range(2):
        with pytest.raises(ProviderError):
            await harness.call("gpt-4o")
    assert harness.circuit("gpt-4o") is BreakerState.OPEN
    assert await harness.call("gpt-4o-mini") == "hi"  # another model of the same provider keeps answering
    assert harness.circuit("gpt-4o-mini") is BreakerState.CLOSED
    with pytest.raises(ProviderError) as fast:
        await harness.call("gpt-4o")
    assert (fast.value.status, fast.value.code) == (503, "circuit_open")
    assert harness.provider.calls.count("gpt-4o") == 10  # the open circuit kept the last call from the provider
    health = harness.router.health()["openai"]["models"]
    assert (health["gpt-4o"]["circuit"], health["gpt-4o-mini"]["circuit"]) == ("open", "closed")


async def test_retries_stop_when_the_probe_fails() -> None:
    harness = Harness(max_attempts=3, breaker_threshold=1, breaker_cooldown=30.0)
    harness.provider.scripts["gpt-4o"] = [server_error()]
    with pytest.raises(ProviderError):
        await harness.call("gpt-4o")
    assert harness.provider.calls == ["gpt-4o"]  # the first failure opened the circuit: no retry into it
    harness.clock.now += 31
    harness.provider.scripts["gpt-4o"] = [server_error(), server_error()]
    with pytest.raises(ProviderError):
        await harness.call("gpt-4o")
    assert harness.provider.calls == ["gpt-4o", "gpt-4o"]
    assert [r.attempt for r in harness.records] == [1, 1]


def test_a_permit_settled_by_its_call_is_not_released_twice() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.failure()
    clock.now += 10
    probe = breaker.enter()
    assert probe is not None
    assert probe.probe
    assert breaker.enter() is None  # one probe at a time
    probe.failure()
    probe.release()
    assert breaker.state is BreakerState.OPEN
    clock.now += 10
    assert breaker.enter() is not None


async def test_a_model_without_a_price_in_force_is_refused_not_billed_at_zero() -> None:
    prices = PriceTable(
        models=(
            ModelPrice(
                provider="openai",
                model="gpt-4o",
                effective_from=date(2030, 1, 1),
                input_per_million=Decimal(1),
                output_per_million=Decimal(2),
            ),
        )
    )
    harness = Harness(prices, today=date(2029, 12, 31))
    with pytest.raises(ProviderError) as refused:
        await harness.call("gpt-4o")
    assert (refused.value.status, refused.value.code) == (404, "model_not_found")
    assert harness.provider.calls == []
    assert harness.records == []
    assert prices.priced_models(date(2029, 12, 31)) == []
    assert prices.priced_models(date(2030, 1, 1)) == [("openai", "gpt-4o")]


def test_cached_cache_write_and_reasoning_tokens_are_priced_from_their_columns() -> None:
    price = ModelPrice(
        provider="anthropic",
        model="m",
        effective_from=date(2025, 1, 1),
        input_per_million=Decimal("3"),
        output_per_million=Decimal("15"),
        cached_input_per_million=Decimal("0.30"),
        cache_write_per_million=Decimal("3.75"),
        reasoning_per_million=Decimal("20"),
    )
    tokens = Tokens(input=2000, output=1000, cached_input=1500, cache_write=300, reasoning=400)
    expected = (200 * Decimal(3) + 1500 * Decimal("0.30") + 300 * Decimal("3.75") + 600 * 15 + 400 * 20) / 10**6
    assert price.cost(tokens) == expected
    plain = price.model_copy(
        update={"cached_input_per_million": None, "cache_write_per_million": None, "reasoning_per_million": None}
    )
    assert plain.cost(tokens) == (2000 * Decimal(3) + 1000 * 15) / 10**6  # columns left out: the plain prices


def test_the_price_table_covers_each_providers_current_models() -> None:
    priced = {model for _, model in load_prices().priced_models(date.today())}
    assert {"gpt-5", "gpt-5-mini", "gpt-4.1", "o4-mini"} <= priced
    assert {"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5"} <= priced
    assert {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"} <= priced
    o3 = load_prices()
    assert o3.current("o3", date(2025, 5, 1)).input_per_million == Decimal("10.00")  # type: ignore[union-attr]
    assert o3.current("o3", date(2025, 7, 1)).input_per_million == Decimal("2.00")  # type: ignore[union-attr]


class HangingImages(ScriptedOpenAI):
    name = "nano-banana"

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        self.calls.append(request.model)
        self.hanging.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_an_image_call_whose_caller_goes_away_is_recorded_as_cancelled() -> None:
    images = HangingImages()
    records: list[AttemptRecord] = []

    async def record(attempt: AttemptRecord) -> None:
        records.append(attempt)

    router = Router(load_prices(), {"nano-banana": images}, RouterPolicy(), record)
    call = asyncio.create_task(router.images(ImageRequest("gemini-2.5-flash-image", "a login screen"), META, Outcome()))
    await images.hanging.wait()
    call.cancel()
    with suppress(asyncio.CancelledError):
        await call
    await router.drain()
    [cancelled] = records
    assert (cancelled.outcome, cancelled.input_tokens, cancelled.images, cancelled.estimated) == (
        "cancelled",
        4,
        0,
        True,
    )
    assert cancelled.cost == Decimal(4) * Decimal("0.30") / 10**6


async def test_an_image_call_refused_by_the_routers_own_queue_is_not_a_provider_attempt() -> None:
    images = HangingImages()
    records: list[AttemptRecord] = []

    async def record(attempt: AttemptRecord) -> None:
        records.append(attempt)

    policy = RouterPolicy(limits={"nano-banana": LimitSettings(max_concurrent=1, max_queue=0)})
    router = Router(load_prices(), {"nano-banana": images}, policy, record)
    request = ImageRequest("gemini-2.5-flash-image", "a login screen")
    busy = asyncio.create_task(router.images(request, META, Outcome()))
    await images.hanging.wait()
    with pytest.raises(ProviderError) as refused:
        await router.images(request, META, Outcome())
    assert refused.value.code == "provider_queue_full"
    assert records == []  # nothing reached the provider, so nothing is metered
    busy.cancel()
    with suppress(asyncio.CancelledError):
        await busy
    await router.drain()
    assert [r.outcome for r in records] == ["cancelled"]
