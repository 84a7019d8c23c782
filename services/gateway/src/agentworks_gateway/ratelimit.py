"""Fixed-window counters in the gateway's database, so every instance shares them (atomic upsert)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.models import RateCounter

clock = time.time  # the windows' clock (tests hold it still across an hour boundary)

_INCREMENT = text(
    "INSERT INTO rate_counters (bucket, window_start, count) VALUES (:bucket, :window, :amount) "
    "ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_counters.count + :amount RETURNING count"
)


@dataclass(frozen=True, slots=True)
class Window:
    """The state of one counter after a hit: what the ``X-RateLimit-*`` headers report."""

    limit: int
    used: int
    resets_at: int

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def retry_after(self, now: float | None = None) -> int:
        return max(1, self.resets_at - int(now or clock()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.resets_at),
        }


def _window_start(seconds: int, now: float) -> int:
    return int(now // seconds * seconds)


async def hit(
    session: AsyncSession, bucket: str, limit: int, seconds: int, now: float | None = None, amount: int = 1
) -> Window:
    """Count ``amount`` (one event, or a number of tokens) in the current window and return the window's state."""
    moment = now or clock()
    start = _window_start(seconds, moment)
    values = {"bucket": bucket, "window": start, "amount": amount}
    used = int((await session.execute(_INCREMENT, values)).scalar_one())
    return Window(limit, used, start + seconds)


async def peek(session: AsyncSession, bucket: str, limit: int, seconds: int, now: float | None = None) -> Window:
    moment = now or clock()
    start = _window_start(seconds, moment)
    used = await session.scalar(
        select(RateCounter.count).where(RateCounter.bucket == bucket, RateCounter.window_start == start)
    )
    return Window(limit, int(used or 0), start + seconds)


async def reset(session: AsyncSession, bucket: str) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.bucket == bucket))


async def prune(session: AsyncSession, older_than: int) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.window_start < older_than))
