"""Workspaces and members: the creator owns, owners invite (by link), and a workspace always keeps an owner."""

from __future__ import annotations

import uuid
from datetime import timedelta

from agentworks_events import ProjectDeleted
from agentworks_platform.db import set_tenant
from agentworks_platform.errors import Conflict, Forbidden, NotFound
from agentworks_platform.principal import Principal
from agentworks_pubsub import Outbox
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access, Role, index_resource, workspace_of
from agentworks_core.audit import service as audit
from agentworks_core.models import Card, Member, Workspace
from agentworks_core.workspaces import invitations, repository
from agentworks_core.workspaces.schemas import Invite, InvitedMemberOut, RoleChange, WorkspaceCreate, WorkspaceOut

MAX_MEMBERS = 500


def _out(workspace: Workspace, role: str) -> WorkspaceOut:
    return WorkspaceOut(id=workspace.id, name=workspace.name, created_at=workspace.created_at, role=role)


async def create(session: AsyncSession, principal: Principal, body: WorkspaceCreate) -> WorkspaceOut:
    if principal.key_workspace_id is not None:
        # A key reaches only its own workspace: one it created would be out of its reach at once.
        raise Forbidden("An API key acts within its own workspace; sign in to create another one.")
    workspace = Workspace(id=uuid.uuid4(), name=body.name, created_by=principal.user_id)
    await set_tenant(session, workspace_id=workspace.id, user_id=principal.user_id, email=principal.email)
    session.add(workspace)
    await session.flush()
    session.add(
        Member(
            workspace_id=workspace.id,
            user_id=principal.user_id,
            email=principal.email,
            role=Role.OWNER,
            status="active",
        )
    )
    index_resource(session, "workspace", workspace.id, workspace.id)
    await session.flush()
    await session.refresh(workspace)
    audit.record(
        session,
        Access(principal, workspace.id, Role.OWNER),
        "workspace.created",
        "workspace",
        workspace.id,
        after={"name": workspace.name},
    )
    return _out(workspace, Role.OWNER)


async def list_mine(session: AsyncSession, principal: Principal) -> list[WorkspaceOut]:
    await set_tenant(session, workspace_id=principal.key_workspace_id, user_id=principal.user_id, email=principal.email)
    rows = await repository.for_user(session, principal.user_id)
    return [_out(w, role) for w, role in rows if principal.key_workspace_id in (None, w.id)]


async def get(session: AsyncSession, access: Access) -> WorkspaceOut:
    workspace = await session.get(Workspace, access.workspace_id)
    if workspace is None:
        raise NotFound("No such workspace.")
    return _out(workspace, access.role)


async def rename(session: AsyncSession, access: Access, name: str) -> WorkspaceOut:
    workspace = await session.get(Workspace, access.workspace_id)
    assert workspace is not None
    before = workspace.name
    workspace.name = name
    audit.record(session, access, "workspace.renamed", "workspace", workspace.id, {"name": before}, {"name": name})
    return _out(workspace, access.role)


async def delete(session: AsyncSession, access: Access, outbox: Outbox) -> None:
    """Delete the workspace with everything in it. Each of its projects goes as a deleted project does: a
    ``project.deleted`` per project, in the same transaction, has the orchestrator remove its repository."""
    workspace = await session.get(Workspace, access.workspace_id)
    assert workspace is not None
    audit.record(session, access, "workspace.deleted", "workspace", workspace.id, {"name": workspace.name})
    project_ids = await repository.project_ids(session, workspace.id)
    await repository.delete_workspace(session, workspace)
    await session.flush()
    for project_id in project_ids:
        deleted = ProjectDeleted(workspace_id=workspace.id, project_id=project_id, actor_id=access.principal.user_id)
        await outbox.add(session, deleted)


async def members(session: AsyncSession, access: Access) -> list[Member]:
    return await repository.members(session, access.workspace_id)


async def invite(session: AsyncSession, access: Access, body: Invite, ttl: timedelta) -> InvitedMemberOut:
    """Invite an email with a fresh link; inviting a still pending email again re-issues its link."""
    email = body.email.lower()
    pending = await repository.member_by_email(session, access.workspace_id, email)
    if pending is not None and pending.user_id is None:
        pending.role = body.role
        return await invitations.reissue(session, access, pending.id, ttl)
    if pending is not None:
        raise Conflict(f"{email} is already a member.", code="already_member")
    if await repository.count_members(session, access.workspace_id) >= MAX_MEMBERS:
        raise Conflict(f"A workspace has at most {MAX_MEMBERS} members.", code="too_many_members")
    member = Member(
        id=uuid.uuid4(),
        workspace_id=access.workspace_id,
        email=email,
        role=body.role,
        status="invited",
        invited_by=access.principal.user_id,
    )
    session.add(member)
    await session.flush()
    await session.refresh(member)
    audit.record(session, access, "member.invited", "member", member.id, after={"email": email, "role": body.role})
    return await invitations.issue(session, member, ttl)


async def _member(session: AsyncSession, access: Access, member_id: uuid.UUID) -> Member:
    member = await repository.member(session, access.workspace_id, member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    return member


async def _keep_an_owner(session: AsyncSession, access: Access, member: Member) -> None:
    if Role(member.role) is Role.OWNER and await repository.owner_count(session, access.workspace_id) <= 1:
        raise Conflict("A workspace must keep at least one owner; make someone else owner first.", code="last_owner")


async def change_role(session: AsyncSession, access: Access, member_id: uuid.UUID, body: RoleChange) -> Member:
    member = await _member(session, access, member_id)
    if member.role == body.role:
        return member
    if Role(body.role) is not Role.OWNER:
        await _keep_an_owner(session, access, member)
    before = member.role
    member.role = body.role
    audit.record(session, access, "member.role_changed", "member", member.id, {"role": before}, {"role": body.role})
    return member


async def remove(session: AsyncSession, access: Access, member_id: uuid.UUID) -> None:
    member = await _member(session, access, member_id)
    await _keep_an_owner(session, access, member)
    audit.record(session, access, "member.removed", "member", member.id, {"email": member.email, "role": member.role})
    await session.delete(member)


async def membership_of(session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    await set_tenant(session, workspace_id=workspace_id)
    member = await repository.member_by_user(session, workspace_id, user_id)
    if member is None:
        raise NotFound("That user is not a member of that workspace.")
    return member


async def card_owned(session: AsyncSession, card_id: uuid.UUID) -> Card:
    """A card read as its own workspace's (the resource index names the workspace), for its owner's lookup."""
    workspace_id = await workspace_of(session, "card", card_id)
    await set_tenant(session, workspace_id=workspace_id)
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    return card
