"""Project, board and lane queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agentworks_platform.db import saved_unless_taken
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.cards import repository as cards
from agentworks_core.cards.schemas import CardOut
from agentworks_core.models import AgentRun, Board, Card, Label, Lane, Project, ResourceIndex


async def projects(
    session: AsyncSession, workspace_id: uuid.UUID, after: tuple[object, uuid.UUID] | None, limit: int
) -> list[Project]:
    query = select(Project).where(Project.workspace_id == workspace_id)
    if after is not None:
        query = query.where(
            (Project.created_at > after[0]) | ((Project.created_at == after[0]) & (Project.id > after[1]))
        )
    return list((await session.scalars(query.order_by(Project.created_at, Project.id).limit(limit + 1))).all())


async def keys_in(session: AsyncSession, workspace_id: uuid.UUID) -> set[str]:
    return set((await session.scalars(select(Project.key).where(Project.workspace_id == workspace_id))).all())


async def saved(session: AsyncSession, project: Project, **values: object) -> bool:
    """Write the project, new or with ``values`` set (a new key): False, with nothing written, when another project of
    the workspace took its key first."""
    return await saved_unless_taken(session, project, **values)


async def first_board(session: AsyncSession, project_id: uuid.UUID) -> Board | None:
    return await session.scalar(select(Board).where(Board.project_id == project_id).limit(1))


async def boards_of(session: AsyncSession, project_id: uuid.UUID) -> list[Board]:
    query = select(Board).where(Board.project_id == project_id).order_by(Board.created_at)
    return list((await session.scalars(query)).all())


async def first_boards(session: AsyncSession, project_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Each project's first board, in one query."""
    if not project_ids:
        return {}
    query = select(Board.project_id, Board.id).where(Board.project_id.in_(project_ids)).order_by(Board.created_at)
    first: dict[uuid.UUID, uuid.UUID] = {}
    for project_id, board_id in (await session.execute(query)).all():
        first.setdefault(project_id, board_id)
    return first


async def lanes_of(session: AsyncSession, board_id: uuid.UUID) -> list[Lane]:
    query = select(Lane).where(Lane.board_id == board_id).order_by(Lane.position)
    return list((await session.scalars(query)).all())


async def revision_of(session: AsyncSession, board_id: uuid.UUID) -> int | None:
    return await session.scalar(select(Board.revision).where(Board.id == board_id))


CARD_COLUMNS = tuple(
    cards.lane_index().label(field) if field == "position" else getattr(Card, field)
    for field in CardOut.model_fields
    if field != "runs"
)
"""The columns of a board's card rows: CardOut's fields, the position counted from the lane's order (the run
badge is added from the runs)."""


async def card_rows_of_board(session: AsyncSession, board_id: uuid.UUID) -> list[dict[str, Any]]:
    """The board's cards as plain rows (no ORM identity map: a board can hold thousands)."""
    query = (
        select(*CARD_COLUMNS)
        .where(Card.board_id == board_id, cards.ON_BOARD)
        .order_by(Card.lane_id, Card.order_key, Card.id)
    )
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def lane_counts(session: AsyncSession, board_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Card.lane_id, func.count()).where(Card.board_id == board_id, cards.ON_BOARD).group_by(Card.lane_id)
    )
    return {lane_id: int(count) for lane_id, count in rows}


async def delete_project(session: AsyncSession, project: Project) -> None:
    board_ids = select(Board.id).where(Board.project_id == project.id)
    lane_ids = select(Lane.id).where(Lane.board_id.in_(board_ids))
    card_ids = select(Card.id).where(Card.project_id == project.id)
    label_ids = select(Label.id).where(Label.project_id == project.id)
    await session.execute(
        delete(ResourceIndex).where(
            ResourceIndex.id.in_(card_ids)
            | ResourceIndex.id.in_(label_ids)
            | ResourceIndex.id.in_(lane_ids)
            | ResourceIndex.id.in_(board_ids)
            | (ResourceIndex.id == project.id)
        )
    )
    await session.execute(delete(Card).where(Card.project_id == project.id))
    await session.delete(project)


@dataclass
class Badge:
    runs: int = 0
    total_price: Decimal = Decimal(0)
    last_status: str = ""
    last_agent: str = ""
    awaiting_approval: int = 0


async def run_badges(session: AsyncSession, board_id: uuid.UUID) -> dict[uuid.UUID, Badge]:
    """Per card of the board: run count, total price, the newest run's status and agent, runs awaiting approval."""
    card_ids = select(Card.id).where(Card.board_id == board_id)
    rows = await session.execute(
        select(AgentRun.card_id, AgentRun.status, AgentRun.agent, AgentRun.price, AgentRun.approval)
        .where(AgentRun.card_id.in_(card_ids))
        .order_by(AgentRun.card_id, AgentRun.created_at, AgentRun.id)
    )
    badges: dict[uuid.UUID, Badge] = {}
    for card_id, status, agent, price, approval in rows:
        if card_id is None:
            continue
        badge = badges.setdefault(card_id, Badge())
        badge.runs += 1
        badge.awaiting_approval += approval == "pending"
        badge.total_price += price
        badge.last_status, badge.last_agent = status, agent
    return badges
