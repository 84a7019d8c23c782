"""Comment queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import CardComment


async def comments_of_card(session: AsyncSession, card_id: uuid.UUID) -> Sequence[CardComment]:
    """A card's comments, oldest first."""
    query = select(CardComment).where(CardComment.card_id == card_id)
    return (await session.scalars(query.order_by(CardComment.created_at, CardComment.id))).all()
