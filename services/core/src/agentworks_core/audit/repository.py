"""Audit log queries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from agentworks_platform.db import insert_ignoring_conflicts
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import AuditEntry


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
    if after is not None:
        query = query.where(tuple_(AuditEntry.created_at, AuditEntry.id) < tuple_(*after))
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit + 1)
    return list((await session.scalars(query)).all())


def add(session: AsyncSession, **values: Any) -> None:
    session.add(AuditEntry(**values))


async def add_once(session: AsyncSession, **values: Any) -> None:
    """Add the entry unless one with its id is already recorded."""
    await insert_ignoring_conflicts(session, AuditEntry.__table__, values)  # type: ignore[arg-type]
