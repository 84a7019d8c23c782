"""Protection: a circuit breaker per (provider, model); per provider a concurrency limit with a bounded queue
and RPM/TPM limits."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum

from agentworks_provider_router.providers.base import ProviderError


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown`` one probe is let through. A probe
    that ends without a verdict (its caller went away) hands the half-open state back to the next caller."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self.opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        return self.enter() is not None

    def enter(self) -> Permit | None:
        """A permit to call (a probe when half-open), or None while the circuit refuses calls."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Permit(self, probe=False)
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return Permit(self, probe=True)
        return None

    def retry_after(self) -> float:
        return 0.0 if self.opened_at is None else max(0.0, self.cooldown - (self._clock() - self.opened_at))

    def success(self) -> None:
        self.failures, self.opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.threshold:
            self.opened_at = self._clock()
        self._probing = False

    def abandon_probe(self) -> None:
        self._probing = False


class Permit:
    """One caller's leave to call a protected model; ``release()`` frees an unfinished probe."""

    __slots__ = ("_breaker", "_settled", "probe")

    def __init__(self, breaker: CircuitBreaker, probe: bool) -> None:
        self._breaker = breaker
        self.probe = probe
        self._settled = False

    def success(self) -> None:
        self._settled = True
        self._breaker.success()

    def failure(self) -> None:
        self._settled = True
        self._breaker.failure()

    def release(self) -> None:
        """Called when the call ends however it ends: a probe without a verdict stops blocking others."""
        if self.probe and not self._settled:
            self._breaker.abandon_probe()
        self._settled = True


class Breakers:
    """One circuit breaker per (provider, model): one model's outage leaves the provider's others open."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def of(self, provider: str, model: str) -> CircuitBreaker:
        key = (provider, model)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = CircuitBreaker(self._threshold, self._cooldown, self._clock)
        return breaker

    def of_provider(self, provider: str) -> dict[str, CircuitBreaker]:
        return {model: b for (name, model), b in sorted(self._breakers.items()) if name == provider}


class SlidingWindow:
    """Amounts spent in the last ``seconds`` (requests for RPM, tokens for TPM)."""

    def __init__(self, limit: int, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] >= self.seconds:
            self._total -= self._events.popleft()[1]

    def wait_for(self, amount: int) -> float:
        """Seconds until ``amount`` fits (0 when it fits now)."""
        now = self._clock()
        self._trim(now)
        if self.limit <= 0 or self._total + amount <= self.limit or not self._events:
            return 0.0
        excess = self._total + amount - self.limit
        freed = 0
        for at, spent in self._events:
            freed += spent
            if freed >= excess:
                return max(0.0, self.seconds - (now - at))
        return self.seconds

    def add(self, amount: int) -> None:
        now = self._clock()
        self._trim(now)
        self._events.append((now, amount))
        self._total += amount


@dataclass
class LimitSettings:
    max_concurrent: int = 16
    max_queue: int = 64
    rpm: int = 0
    tpm: int = 0


class ProviderLimiter:
    """Admits calls to one provider: at most ``max_concurrent`` at once, ``max_queue`` waiting, and within
    the RPM/TPM windows. A full queue, or a window that cannot open in time, answers 429 with Retry-After."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.max_concurrent)
        self._waiting = 0
        self.requests = SlidingWindow(settings.rpm, clock=clock)
        self.tokens = SlidingWindow(settings.tpm, clock=clock)

    @property
    def in_flight(self) -> int:
        return self.settings.max_concurrent - self._slots._value

    @property
    def waiting(self) -> int:
        return self._waiting

    @asynccontextmanager
    async def admit(self, estimated_tokens: int, max_wait: float = 10.0) -> AsyncIterator[None]:
        if self._slots.locked() and self._waiting >= self.settings.max_queue:
            raise ProviderError(
                "Too many requests are waiting for this provider.", 429, True, 1.0, "provider_queue_full"
            )
        delay = max(self.requests.wait_for(1), self.tokens.wait_for(estimated_tokens))
        if delay > max_wait:
            raise ProviderError(
                "This provider's request or token rate limit is reached.", 429, True, delay, "provider_rate_limited"
            )
        self._waiting += 1
        try:
            if delay:
                await asyncio.sleep(delay)
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self.requests.add(1)
        self.tokens.add(estimated_tokens)
        try:
            yield
        finally:
            self._slots.release()
