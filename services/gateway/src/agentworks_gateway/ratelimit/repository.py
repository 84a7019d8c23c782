"""Rate counters: one row per bucket and window, counted by an atomic upsert so every instance shares them."""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.models import RateCounter

_INCREMENT = text(
    "INSERT INTO rate_counters (bucket, window_start, count) VALUES (:bucket, :window, :amount) "
    "ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_counters.count + :amount RETURNING count"
)


async def add_to_window(session: AsyncSession, bucket: str, window_start: int, amount: int) -> int:
    """Add ``amount`` to the bucket's count in the window and return the new count."""
    values = {"bucket": bucket, "window": window_start, "amount": amount}
    return int((await session.execute(_INCREMENT, values)).scalar_one())


async def used_in_window(session: AsyncSession, bucket: str, window_start: int) -> int:
    used = await session.scalar(
        select(RateCounter.count).where(RateCounter.bucket == bucket, RateCounter.window_start == window_start)
    )
    return int(used or 0)


async def delete_bucket(session: AsyncSession, bucket: str) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.bucket == bucket))


async def delete_windows_before(session: AsyncSession, window_start: int) -> int:
    """Delete every counter of a window that started before ``window_start``; the number deleted."""
    result = await session.execute(delete(RateCounter).where(RateCounter.window_start < window_start))
    return int(getattr(result, "rowcount", 0) or 0)
