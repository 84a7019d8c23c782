"""Card queries, including the locks that make WIP limits hold under concurrent moves."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from agentworks_platform.db import locks_rows
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import Card, CardImage, Lane, ResourceIndex


async def lock_lanes(session: AsyncSession, lane_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lane]:
    """Load lanes, locking them in id order on PostgreSQL (SQLite transactions are already exclusive)."""
    query = select(Lane).where(Lane.id.in_(sorted(set(lane_ids)))).order_by(Lane.id)
    if locks_rows(session):
        query = query.with_for_update()
    return {lane.id: lane for lane in (await session.scalars(query)).all()}


async def card_for_update(session: AsyncSession, card_id: uuid.UUID) -> Card | None:
    query = select(Card).where(Card.id == card_id).execution_options(populate_existing=True)
    if locks_rows(session):
        query = query.with_for_update()
    return await session.scalar(query)


async def lane_of_card(session: AsyncSession, card_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Card.lane_id).where(Card.id == card_id))


async def lock_card_in_lane(
    session: AsyncSession, card_id: uuid.UUID, lane_id: uuid.UUID, other_lanes: Sequence[uuid.UUID]
) -> tuple[Card, dict[uuid.UUID, Lane]] | None:
    """Lock lanes before the card (the order every writer of positions uses), so concurrent moves queue
    on the lane instead of deadlocking on each other's card rows. None when the card is gone or has left
    the lane in the meantime: the attempt's locks are then released (savepoint) before the caller retries."""
    attempt = await session.begin_nested()
    lanes = await lock_lanes(session, [lane_id, *other_lanes])
    card = await card_for_update(session, card_id)
    if card is None or card.lane_id != lane_id:
        await attempt.rollback()
        return None
    await attempt.commit()
    return card, lanes


async def count_in_lane(session: AsyncSession, lane_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).select_from(Card).where(Card.lane_id == lane_id)) or 0)


async def first_lane(session: AsyncSession, board_id: uuid.UUID) -> Lane | None:
    return await session.scalar(select(Lane).where(Lane.board_id == board_id).order_by(Lane.position).limit(1))


async def close_gap(session: AsyncSession, lane_id: uuid.UUID, position: int) -> None:
    await session.execute(
        update(Card).where(Card.lane_id == lane_id, Card.position > position).values(position=Card.position - 1)
    )


async def open_gap(session: AsyncSession, lane_id: uuid.UUID, position: int) -> None:
    await session.execute(
        update(Card).where(Card.lane_id == lane_id, Card.position >= position).values(position=Card.position + 1)
    )


async def children(session: AsyncSession, card_id: uuid.UUID) -> list[Card]:
    query = select(Card).where(Card.parent_id == card_id).order_by(Card.created_at, Card.id)
    return list((await session.scalars(query)).all())


async def ancestors(session: AsyncSession, card_id: uuid.UUID, limit: int = 50) -> list[uuid.UUID]:
    chain: list[uuid.UUID] = []
    current: uuid.UUID | None = card_id
    while current is not None and len(chain) < limit:
        chain.append(current)
        current = await session.scalar(select(Card.parent_id).where(Card.id == current))
    return chain


async def page(
    session: AsyncSession,
    project_id: uuid.UUID,
    lane_id: uuid.UUID | None,
    after: tuple[object, uuid.UUID] | None,
    limit: int,
) -> list[Card]:
    query = select(Card).where(Card.project_id == project_id)
    if lane_id is not None:
        query = query.where(Card.lane_id == lane_id)
    if after is not None:
        query = query.where((Card.created_at > after[0]) | ((Card.created_at == after[0]) & (Card.id > after[1])))
    return list((await session.scalars(query.order_by(Card.created_at, Card.id).limit(limit + 1))).all())


async def delete_card(session: AsyncSession, card: Card) -> None:
    await session.execute(update(Card).where(Card.parent_id == card.id).values(parent_id=None))
    await session.execute(delete(ResourceIndex).where(ResourceIndex.id == card.id))
    await session.delete(card)


async def images(session: AsyncSession, card_id: uuid.UUID) -> Sequence[CardImage]:
    query = select(CardImage).where(CardImage.card_id == card_id)
    return (await session.scalars(query.order_by(CardImage.created_at, CardImage.id))).all()
