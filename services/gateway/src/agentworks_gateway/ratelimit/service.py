"""Fixed-window counters in the gateway's database, so every instance shares them (atomic upsert)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.ratelimit import repository

clock = time.time  # the windows' clock (tests hold it still across an hour boundary)


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
    used = await repository.add_to_window(session, bucket, start, amount)
    return Window(limit, used, start + seconds)


async def peek(session: AsyncSession, bucket: str, limit: int, seconds: int, now: float | None = None) -> Window:
    moment = now or clock()
    start = _window_start(seconds, moment)
    used = await repository.used_in_window(session, bucket, start)
    return Window(limit, used, start + seconds)


async def reset(session: AsyncSession, bucket: str) -> None:
    await repository.delete_bucket(session, bucket)
