"""What terminals replay: the stored runs of a card and each run's transcript steps after a client's cursor
(their lines come through the archiver)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_log_stream.models import RunLog, RunStepRow
from agentworks_log_stream.terminal import repository


async def runs_of_card(session: AsyncSession, card_id: uuid.UUID, run_id: uuid.UUID | None) -> list[RunLog]:
    """The card's runs, oldest first; only ``run_id`` when one is named."""
    return await repository.runs_of_card(session, card_id, run_id)


async def steps_after(session: AsyncSession, run_id: uuid.UUID, after: int, limit: int) -> list[RunStepRow]:
    """The run's stored steps after step ``after``, in order, at most ``limit`` of them."""
    return await repository.steps_between(session, run_id, after + 1, None, limit)
