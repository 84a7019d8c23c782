"""User and session queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.models import Session, User


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def email_taken(session: AsyncSession, email: str) -> bool:
    return await session.scalar(select(User.id).where(User.email == email)) is not None


async def revoke_session(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(Session).where(Session.id == session_id).values(revoked_at=at))


async def revoke_active_session_of(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID, at: datetime
) -> bool:
    """Revoke the user's session if it is still active; False when there is no such session."""
    result = await session.execute(
        update(Session)
        .where(Session.id == session_id, Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return getattr(result, "rowcount", 0) == 1


async def live_sessions_of(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> list[Session]:
    query = (
        select(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None), Session.expires_at > now)
        .order_by(Session.created_at.desc())
    )
    return list((await session.scalars(query)).all())


async def live_sessions(session: AsyncSession, session_ids: Sequence[uuid.UUID], now: datetime) -> list[uuid.UUID]:
    """Those of the sessions that are neither revoked nor expired."""
    query = select(Session.id).where(
        Session.id.in_(session_ids), Session.revoked_at.is_(None), Session.expires_at > now
    )
    return list((await session.scalars(query)).all())
