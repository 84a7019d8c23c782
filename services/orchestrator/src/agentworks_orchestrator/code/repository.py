"""Card branch records: which branch is a card's, where it started, and its merge."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_orchestrator.models import CardBranch


async def card_branch(session: AsyncSession, card_id: uuid.UUID) -> CardBranch | None:
    return await session.get(CardBranch, card_id, populate_existing=True)


async def branches_of_project(session: AsyncSession, project_id: uuid.UUID) -> Sequence[CardBranch]:
    query = select(CardBranch).where(CardBranch.project_id == project_id)
    return (await session.scalars(query)).all()
