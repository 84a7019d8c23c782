"""Card queries: order keys and positions, and the lane locks that keep WIP limits and re-keys exact."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from agentworks_platform.db import is_transient_conflict, locks_rows
from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    String,
    Table,
    bindparam,
    cast,
    delete,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agentworks_core.cards import order
from agentworks_core.models import Card, CardImage, Lane, Project, ResourceIndex

T = TypeVar("T")

ON_BOARD = Card.archived_at.is_(None)
"""The cards a lane shows: an archived card keeps its lane and key but is left out of every count and order."""


async def lock_lanes(
    session: AsyncSession, lane_ids: Sequence[uuid.UUID], exclusive: Collection[uuid.UUID] = ()
) -> dict[uuid.UUID, Lane]:
    """Load lanes, locking them in id order on PostgreSQL (SQLite transactions are already exclusive).

    Writers of one card's key share the lane (``FOR KEY SHARE``), so moves in a lane run side by side; a lane in
    ``exclusive`` (``FOR UPDATE``) waits for them and holds them off, for the writers whose work depends on the
    whole lane: counting against a WIP limit, re-keying."""
    lanes: dict[uuid.UUID, Lane] = {}
    for lane_id in sorted(set(lane_ids)):
        query = select(Lane).where(Lane.id == lane_id).execution_options(populate_existing=True)
        if locks_rows(session):
            shared = lane_id not in exclusive
            query = query.with_for_update(read=shared, key_share=shared)
        lane = await session.scalar(query)
        if lane is not None:
            lanes[lane.id] = lane
    return lanes


async def share_lanes_of_move(session: AsyncSession, card_id: uuid.UUID, target_id: uuid.UUID) -> dict[uuid.UUID, Lane]:
    """Load the card's lane and ``target_id``, sharing both (``FOR KEY SHARE`` on PostgreSQL) in one statement that
    locks them in id order, as ``lock_lanes`` does. The card's lane is read without a lock: the caller checks that
    the card is still in one of them once it holds the card."""
    query = _lanes_of_move_query(locks_rows(session))
    lanes = await session.scalars(query, {"card_id": card_id, "target_id": target_id})
    return {lane.id: lane for lane in lanes.all()}


@functools.cache
def _lanes_of_move_query(locks: bool) -> Select[Lane]:
    """Built once: a statement's cache key is worked out again for every new statement object, and for a query
    this size that costs more than sending it."""
    card_lane = select(Card.lane_id).where(Card.id == bindparam("card_id")).scalar_subquery()
    query = (
        select(Lane)
        .where((Lane.id == bindparam("target_id")) | (Lane.id == card_lane))
        .order_by(Lane.id)
        .execution_options(populate_existing=True)
    )
    return query.with_for_update(read=True, key_share=True, of=Lane) if locks else query


@dataclass(frozen=True, slots=True)
class Placing:
    """What putting a card at an index of a lane depends on, read with the card in one statement: its index in
    its own lane now, how many other cards the target lane shows, and the keys of the cards that would sit either
    side of it there (None past either end)."""

    card: Card
    position: int
    others: int
    before: int | None
    after: int | None


async def placing(session: AsyncSession, card_id: uuid.UUID, lane_id: uuid.UUID, wanted: int | None) -> Placing | None:
    """The card, locked (PostgreSQL), with what putting it at index ``wanted`` (the end when None, or when past the
    end) of lane ``lane_id`` among that lane's other cards depends on; None when there is no such card."""
    place = "end" if wanted is None else "top" if wanted == 0 else "between"
    values = {
        "card_id": card_id,
        "lane_id": lane_id,
        "after_skip": wanted or 0,
        "before_skip": max((wanted or 0) - 1, 0),
    }
    row = (await session.execute(_placing_query(place, locks_rows(session)), values)).one_or_none()
    if row is None:
        return None
    card, position, others, before, after = row
    return Placing(card, int(position), int(others), before, after)


@functools.cache
def _placing_query(place: Literal["top", "between", "end"], locks: bool) -> Select[Card, int, int, Any, Any]:
    """The card (locked when ``locks``) with its index in its lane, the count of the other cards of lane
    ``:lane_id``, and the keys of those at indexes ``:before_skip`` and ``:after_skip`` among them, in order:
    the last one's before the end, none before the top, none after the end. Built once, as above."""
    ahead = aliased(Card)
    position = (
        select(func.count())
        .where(ahead.lane_id == Card.lane_id, ahead.archived_at.is_(None), _ahead_of_row(ahead, Card))
        .scalar_subquery()
    )
    other = aliased(Card)
    others = select(other.order_key).where(
        other.lane_id == bindparam("lane_id"), other.archived_at.is_(None), other.id != bindparam("card_id")
    )
    count = select(func.count()).select_from(others.subquery()).scalar_subquery()
    last = others.order_by(other.order_key.desc(), other.id.desc()).limit(1).scalar_subquery()
    in_order = others.order_by(other.order_key, other.id)

    def at(skip: str) -> ScalarSelect[Any]:
        return in_order.offset(bindparam(skip, type_=Integer)).limit(1).scalar_subquery()

    before: ColumnElement[Any] = last
    after: ColumnElement[Any] = null()
    if place == "top":
        before, after = null(), at("after_skip")
    elif place == "between":  # past the end, the card before it is the last one
        before, after = func.coalesce(at("before_skip"), last), at("after_skip")
    query = (
        select(Card, position, count, before, after)
        .where(Card.id == bindparam("card_id"))
        .execution_options(populate_existing=True)
    )
    return query.with_for_update(of=Card) if locks else query


async def lock_card_in_lane(
    session: AsyncSession,
    card_id: uuid.UUID,
    lane_id: uuid.UUID,
    other_lanes: Sequence[uuid.UUID],
    exclusive: Collection[uuid.UUID],
) -> tuple[Card, dict[uuid.UUID, Lane]] | None:
    """Lock lanes before the card (the order every writer of keys uses), so a re-key never deadlocks with a
    move. None when the card is gone or has left the lane in the meantime: the attempt's locks are then
    released (savepoint) before the caller retries."""
    attempt = await session.begin_nested()
    lanes = await lock_lanes(session, [lane_id, *other_lanes], exclusive)
    card = await card_for_update(session, card_id)
    if card is None or card.lane_id != lane_id:
        await attempt.rollback()
        return None
    await attempt.commit()
    return card, lanes


ATTEMPTS = 3
"""How many times a placement runs before giving up: once sharing the lane, once more holding it alone if it
found it had to, and once more after PostgreSQL broke a deadlock or a serialization failure."""


async def under_lane_locks(
    session: AsyncSession, attempt: Callable[[bool], Awaitable[T | None]], exclusive: bool
) -> T | None:
    """Run ``attempt`` in a savepoint, holding its target lane alone when ``exclusive``, else sharing it.

    An attempt that returns None found it needed the lane alone after all (a WIP limit set, or its gap closed,
    by another writer in between): its savepoint is rolled back, which releases the shared lock (taking a lane
    alone while still sharing it can deadlock with another writer doing the same), and it runs again holding the
    lane alone. A deadlock or serialization failure PostgreSQL reports rolls the savepoint back and runs it
    again too. None only when every one of ``ATTEMPTS`` ran into another writer."""
    for _ in range(ATTEMPTS):
        savepoint = await session.begin_nested()
        try:
            done = await attempt(exclusive)
        except BaseException as exc:
            await savepoint.rollback()
            if not is_transient_conflict(exc):
                raise
            continue
        if done is not None:
            await savepoint.commit()
            return done
        await savepoint.rollback()
        exclusive = True
    return None


async def card_for_update(session: AsyncSession, card_id: uuid.UUID) -> Card | None:
    query = select(Card).where(Card.id == card_id).execution_options(populate_existing=True)
    if locks_rows(session):
        query = query.with_for_update()
    return await session.scalar(query)


async def lane_of_card(session: AsyncSession, card_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Card.lane_id).where(Card.id == card_id))


async def has_wip_limit(session: AsyncSession, lane_id: uuid.UUID) -> bool:
    """Whether the lane has a WIP limit, as last committed (read without a lock, to choose which lock to take)."""
    return await session.scalar(select(Lane.wip_limit).where(Lane.id == lane_id)) is not None


async def count_in_lane(session: AsyncSession, lane_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(Card).where(Card.lane_id == lane_id, ON_BOARD)
    return int(await session.scalar(query) or 0)


async def first_lane(session: AsyncSession, board_id: uuid.UUID) -> Lane | None:
    return await session.scalar(select(Lane).where(Lane.board_id == board_id).order_by(Lane.position).limit(1))


def _ahead_of(card: Card) -> ColumnElement[bool]:
    return _ahead_of_row(Card, card)


def _ahead_of_row(rows: Any, card: Any) -> ColumnElement[bool]:
    """Whether a row of ``rows`` comes before ``card`` in their lane's order (a loaded card, or a row of a query)."""
    ahead: ColumnElement[bool] = (rows.order_key < card.order_key) | (
        (rows.order_key == card.order_key) & (rows.id < card.id)
    )
    return ahead


async def position_of(session: AsyncSession, card: Card) -> int:
    """The card's index in its lane: how many of the lane's cards come before it."""
    query = select(func.count()).select_from(Card).where(Card.lane_id == card.lane_id, ON_BOARD, _ahead_of(card))
    return int(await session.scalar(query) or 0)


def lane_index() -> ColumnElement[int]:
    """A card's index in its lane as a window over the selected rows (select the whole lane for it to be right)."""
    return func.row_number().over(partition_by=Card.lane_id, order_by=(Card.order_key, Card.id)) - 1


async def positions_of(session: AsyncSession, cards: Sequence[Card]) -> dict[uuid.UUID, int]:
    """Each card's index in its lane, in one query."""
    if not cards:
        return {}
    lanes = sorted({card.lane_id for card in cards})
    ranked = select(Card.id, lane_index().label("position")).where(Card.lane_id.in_(lanes), ON_BOARD).subquery()
    rows = await session.execute(select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_([c.id for c in cards])))
    positions = {card_id: int(position) for card_id, position in rows}
    for card in cards:
        if card.id not in positions:  # archived: the place it would return to
            positions[card.id] = await position_of(session, card)
    return positions


async def keys_around(
    session: AsyncSession, lane_id: uuid.UUID, index: int, leaving_out: uuid.UUID | None
) -> tuple[int | None, int | None]:
    """The keys of the cards that would sit either side of a card put at ``index`` among the lane's other cards
    (None past either end)."""
    query = select(Card.order_key).where(Card.lane_id == lane_id, ON_BOARD).order_by(Card.order_key, Card.id)
    if leaving_out is not None:
        query = query.where(Card.id != leaving_out)
    keys = list((await session.scalars(query.offset(max(index - 1, 0)).limit(2 if index > 0 else 1))).all())
    if index == 0:
        return None, keys[0] if keys else None
    return (keys[0] if keys else None), (keys[1] if len(keys) > 1 else None)


async def rekey_lane(session: AsyncSession, lane_id: uuid.UUID, leaving_out: uuid.UUID | None) -> None:
    """Spread the keys of the lane's cards (all but ``leaving_out``) evenly again, keeping their order. The
    caller holds the lane exclusively, so no card enters or leaves it meanwhile."""
    query = select(Card.id).where(Card.lane_id == lane_id, ON_BOARD).order_by(Card.order_key, Card.id)
    if leaving_out is not None:
        query = query.where(Card.id != leaving_out)
    ids = list((await session.scalars(query)).all())
    if not ids:
        return
    cards = Card.__table__
    assert isinstance(cards, Table)
    statement = (
        update(cards)
        .where(cards.c.id == bindparam("card_id"), cards.c.lane_id == lane_id)
        .values(order_key=bindparam("new_key"))
    )
    keys = order.spread(len(ids))
    await session.execute(statement, [{"card_id": c, "new_key": k} for c, k in zip(ids, keys, strict=True)])


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
    archived: bool,
    after: tuple[object, uuid.UUID] | None,
    limit: int,
) -> list[Card]:
    query = select(Card).where(Card.project_id == project_id, ~ON_BOARD if archived else ON_BOARD)
    if lane_id is not None:
        query = query.where(Card.lane_id == lane_id)
    if after is not None:
        query = query.where((Card.created_at > after[0]) | ((Card.created_at == after[0]) & (Card.id > after[1])))
    return list((await session.scalars(query.order_by(Card.created_at, Card.id).limit(limit + 1))).all())


async def delete_card(session: AsyncSession, card: Card) -> None:
    await session.execute(update(Card).where(Card.parent_id == card.id).values(parent_id=None))
    await session.execute(delete(ResourceIndex).where(ResourceIndex.id == card.id))
    await session.delete(card)


async def next_number(session: AsyncSession, project_id: uuid.UUID) -> int:
    """Take the project's next card number. The increment locks the project's row until the transaction ends
    (PostgreSQL), or runs under SQLite's one writer, so two cards never share a number."""
    statement = (
        update(Project)
        .where(Project.id == project_id)
        .values(card_sequence=Project.card_sequence + 1)
        .returning(Project.card_sequence)
    )
    number = await session.scalar(statement)
    assert number is not None, "the caller checked the project exists"
    return number


async def rename_human_ids(session: AsyncSession, project_id: uuid.UUID, key: str) -> None:
    """Give every card of the project the short id its new key makes."""
    human_id = literal(f"{key}-", String) + cast(Card.number, String)
    await session.execute(
        update(Card)
        .where(Card.project_id == project_id)
        .values(human_id=human_id)
        .execution_options(synchronize_session="fetch")
    )


async def by_number(session: AsyncSession, workspace_id: uuid.UUID, key: str, number: int) -> Card | None:
    query = (
        select(Card)
        .join(Project, Project.id == Card.project_id)
        .where(Project.workspace_id == workspace_id, Project.key == key, Card.number == number)
    )
    return await session.scalar(query)


async def cards_with_label(session: AsyncSession, project_id: uuid.UUID, label_id: uuid.UUID) -> list[uuid.UUID]:
    """The project's cards holding the label (read from each card's list: JSON is not searched alike everywhere)."""
    rows = await session.execute(select(Card.id, Card.label_ids).where(Card.project_id == project_id))
    return [card_id for card_id, labels in rows if str(label_id) in labels]


async def images(session: AsyncSession, card_id: uuid.UUID) -> Sequence[CardImage]:
    query = select(CardImage).where(CardImage.card_id == card_id)
    return (await session.scalars(query.order_by(CardImage.created_at, CardImage.id))).all()
