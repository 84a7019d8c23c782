"""A run's usage: what its recorded provider calls add up to."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_provider_router.run_usage import repository
from agentworks_provider_router.run_usage.repository import RunSpend


async def spend_of(session: AsyncSession, run_id: uuid.UUID) -> RunSpend:
    """Every call recorded for the run, whatever attempt made it (nothing for a run that made no call)."""
    return await repository.spend_of(session, run_id)
