"""Fixed-window counters in the gateway's database, so every instance shares them (atomic upsert)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.ratelimit import repository

log = get_logger(__name__)
SWEEP_EVERY_SECONDS = 600.0
HOUR = 3600  # the window of every caller's request limit

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


async def prune(session: AsyncSession, longest_window_seconds: int, now: float | None = None) -> int:
    """Delete the counters of windows that have ended for every limit: one that started more than the longest
    window ago can no longer be counted or peeked at. Returns how many were deleted."""
    return await repository.delete_windows_before(session, int(now or clock()) - longest_window_seconds)


async def prune_periodically(
    db: Database, longest_window_seconds: int, every_seconds: float = SWEEP_EVERY_SECONDS
) -> None:
    """Keep the counters table to the live windows for the service's lifetime (it would grow by keys × windows)."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            async with db.transaction() as session:
                deleted = await prune(session, longest_window_seconds)
        except Exception as exc:  # a database hiccup must not stop the sweep
            log.warning("ratelimit.prune_failed", error=type(exc).__name__)
            continue
        if deleted:
            log.info("ratelimit.pruned", counters=deleted)
