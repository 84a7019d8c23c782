"""Inbox and watcher queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import CardWatcher, Member, Notification


async def inbox(
    session: AsyncSession, workspace_id: uuid.UUID, recipient_id: uuid.UUID, limit: int, unread_only: bool
) -> Sequence[Notification]:
    """A person's notifications in a workspace, newest first."""
    query = select(Notification).where(
        Notification.workspace_id == workspace_id, Notification.recipient_id == recipient_id
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def unread_count(session: AsyncSession, workspace_id: uuid.UUID, recipient_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        Notification.workspace_id == workspace_id,
        Notification.recipient_id == recipient_id,
        Notification.read_at.is_(None),
    )
    return int(await session.scalar(query) or 0)


async def notification_of(
    session: AsyncSession, workspace_id: uuid.UUID, recipient_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    """The notification, only when it is the recipient's in that workspace."""
    query = select(Notification).where(
        Notification.id == notification_id,
        Notification.workspace_id == workspace_id,
        Notification.recipient_id == recipient_id,
    )
    return await session.scalar(query)


async def mark_all_read(session: AsyncSession, workspace_id: uuid.UUID, recipient_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(Notification)
        .where(
            Notification.workspace_id == workspace_id,
            Notification.recipient_id == recipient_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=at)
    )


async def watchers_of(session: AsyncSession, card_id: uuid.UUID) -> Sequence[CardWatcher]:
    return (await session.scalars(select(CardWatcher).where(CardWatcher.card_id == card_id))).all()


async def active_owners(session: AsyncSession, workspace_id: uuid.UUID) -> Sequence[Member]:
    query = select(Member).where(
        Member.workspace_id == workspace_id,
        Member.status == "active",
        Member.role == "owner",
        Member.user_id.is_not(None),
    )
    return (await session.scalars(query)).all()


async def active_people(session: AsyncSession, workspace_id: uuid.UUID) -> Sequence[Member]:
    """The workspace's members who have taken up their membership (a person to notify or mention)."""
    query = select(Member).where(
        Member.workspace_id == workspace_id, Member.status == "active", Member.user_id.is_not(None)
    )
    return (await session.scalars(query.order_by(Member.created_at, Member.id))).all()
