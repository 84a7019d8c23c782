"""API key queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.models import ApiKey, User


async def count_active(session: AsyncSession, workspace_id: uuid.UUID, created_by: uuid.UUID | None = None) -> int:
    """Active keys of the workspace (of one creator when ``created_by`` is given)."""
    query = select(func.count()).where(ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_(None))
    if created_by is not None:
        query = query.where(ApiKey.created_by == created_by)
    return int(await session.scalar(query) or 0)


async def keys_of_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, created_by: uuid.UUID | None = None
) -> list[tuple[ApiKey, str | None]]:
    """The workspace's keys, newest first, each with its creator's email (of one creator when ``created_by``)."""
    query = (
        select(ApiKey, User.email)
        .outerjoin(User, User.id == ApiKey.created_by)
        .where(ApiKey.workspace_id == workspace_id)
        .order_by(ApiKey.created_at.desc())
    )
    if created_by is not None:
        query = query.where(ApiKey.created_by == created_by)
    return [(key, email) for key, email in (await session.execute(query)).all()]


async def active_key(session: AsyncSession, workspace_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_(None))
    )


async def key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


async def mark_used(session: AsyncSession, key_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


async def unrevoked(session: AsyncSession, key_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Those of the keys that are not revoked."""
    query = select(ApiKey.id).where(ApiKey.id.in_(key_ids), ApiKey.revoked_at.is_(None))
    return list((await session.scalars(query)).all())
