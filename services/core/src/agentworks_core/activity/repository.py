"""Activity queries: each source of a card's timeline read newest first, after a cursor ``(at, key)``, where a
row's key is ``<source>:<id>`` so that rows of several sources at one instant still have one order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import AgentRun, AuditEntry, CardComment, Lane

Cursor = tuple[datetime, str, uuid.UUID]
"""The last item shown: its time, its source and its row's id."""


def _after(source: str, at: Any, row_id: Any, cursor: Cursor | None) -> ColumnElement[bool] | None:
    """Rows of ``source`` that come after the cursor, newest first (None: every row)."""
    if cursor is None:
        return None
    when, cursor_source, cursor_id = cursor
    if source < cursor_source:
        return at <= when  # type: ignore[no-any-return]
    if source > cursor_source:
        return at < when  # type: ignore[no-any-return]
    return tuple_(at, row_id) < tuple_(when, cursor_id)


def _page(query: Select[Any], condition: ColumnElement[bool] | None, at: Any, row_id: Any, limit: int) -> Select[Any]:
    if condition is not None:
        query = query.where(condition)
    return query.order_by(at.desc(), row_id.desc()).limit(limit)


async def audit_entries(
    session: AsyncSession, card_id: uuid.UUID, workspace_id: uuid.UUID, cursor: Cursor | None, limit: int
) -> Sequence[AuditEntry]:
    at, row_id = AuditEntry.created_at, AuditEntry.id
    # Comments are read from their own table (edited and deleted in place), not from their audit entries.
    query = select(AuditEntry).where(
        AuditEntry.workspace_id == workspace_id,
        AuditEntry.resource_type == "card",
        AuditEntry.resource_id == card_id,
        AuditEntry.action.not_like("comment.%"),
    )
    return (await session.scalars(_page(query, _after("audit", at, row_id, cursor), at, row_id, limit))).all()


async def runs(session: AsyncSession, card_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Sequence[AgentRun]:
    at, row_id = AgentRun.created_at, AgentRun.id
    query = select(AgentRun).where(AgentRun.card_id == card_id)
    return (await session.scalars(_page(query, _after("run", at, row_id, cursor), at, row_id, limit))).all()


async def decisions(session: AsyncSession, card_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Sequence[AgentRun]:
    """The card's runs a person approved or rejected, by when they decided."""
    at, row_id = AgentRun.decided_at, AgentRun.id
    query = select(AgentRun).where(AgentRun.card_id == card_id, AgentRun.decided_at.is_not(None))
    return (await session.scalars(_page(query, _after("approval", at, row_id, cursor), at, row_id, limit))).all()


async def comments(
    session: AsyncSession, card_id: uuid.UUID, cursor: Cursor | None, limit: int
) -> Sequence[CardComment]:
    at, row_id = CardComment.created_at, CardComment.id
    query = select(CardComment).where(CardComment.card_id == card_id)
    return (await session.scalars(_page(query, _after("comment", at, row_id, cursor), at, row_id, limit))).all()


async def lane_names(session: AsyncSession, board_id: uuid.UUID) -> dict[str, str]:
    rows = await session.execute(select(Lane.id, Lane.number, Lane.name).where(Lane.board_id == board_id))
    return {str(lane_id): f"{number} {name}" for lane_id, number, name in rows}
