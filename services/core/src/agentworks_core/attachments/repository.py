"""Attachment queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import CardAttachment


async def attachments_of(session: AsyncSession, card_id: uuid.UUID) -> Sequence[CardAttachment]:
    query = select(CardAttachment).where(CardAttachment.card_id == card_id)
    return (await session.scalars(query.order_by(CardAttachment.created_at, CardAttachment.id))).all()


def add(session: AsyncSession, attachment: CardAttachment) -> None:
    session.add(attachment)


async def delete_attachment(session: AsyncSession, attachment: CardAttachment) -> None:
    await session.delete(attachment)
