"""Workspace and member queries."""

from __future__ import annotations

import uuid

from agentworks_platform.db import locks_rows
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import Invitation, Member, Project, ResourceIndex, Workspace


async def for_user(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Workspace, str]]:
    rows = await session.execute(
        select(Workspace, Member.role)
        .join(Member, Member.workspace_id == Workspace.id)
        .where(Member.user_id == user_id)
        .order_by(Workspace.created_at, Workspace.id)
    )
    return [(workspace, role) for workspace, role in rows]


async def members(session: AsyncSession, workspace_id: uuid.UUID) -> list[Member]:
    query = select(Member).where(Member.workspace_id == workspace_id).order_by(Member.created_at, Member.id)
    return list((await session.scalars(query)).all())


async def member(session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID) -> Member | None:
    return await session.scalar(select(Member).where(Member.workspace_id == workspace_id, Member.id == member_id))


async def member_by_email(session: AsyncSession, workspace_id: uuid.UUID, email: str) -> Member | None:
    return await session.scalar(select(Member).where(Member.workspace_id == workspace_id, Member.email == email))


async def member_by_user(session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Member | None:
    return await session.scalar(select(Member).where(Member.workspace_id == workspace_id, Member.user_id == user_id))


async def owner_count(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    """Owners of the workspace, locking their rows so two demotions cannot both pass the check."""
    query = select(Member.id).where(Member.workspace_id == workspace_id, Member.role == "owner")
    if locks_rows(session):
        query = query.with_for_update()
    return len((await session.scalars(query)).all())


async def project_ids(session: AsyncSession, workspace_id: uuid.UUID) -> list[uuid.UUID]:
    query = select(Project.id).where(Project.workspace_id == workspace_id).order_by(Project.created_at, Project.id)
    return list((await session.scalars(query)).all())


async def delete_workspace(session: AsyncSession, workspace: Workspace) -> None:
    await session.execute(delete(ResourceIndex).where(ResourceIndex.workspace_id == workspace.id))
    await session.delete(workspace)


async def count_members(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Member).where(Member.workspace_id == workspace_id)) or 0
    )


async def invitation(session: AsyncSession, token_hash: str) -> Invitation | None:
    """The invitation with this token hash, locked so two acceptances of one link cannot both pass."""
    query = select(Invitation).where(Invitation.token_hash == token_hash)
    if locks_rows(session):
        query = query.with_for_update()
    return await session.scalar(query)


async def replace_invitation(session: AsyncSession, invitation: Invitation) -> None:
    """Store a member's new invitation, revoking any earlier one of theirs."""
    await session.execute(delete(Invitation).where(Invitation.member_id == invitation.member_id))
    session.add(invitation)
    await session.flush()
