"""Who may do what: roles, permissions, tenant resolution and the per-request transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from agentworks_platform.db import set_tenant
from agentworks_platform.errors import Forbidden, NotFound
from agentworks_platform.principal import Principal, current_principal
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import Member, ResourceIndex
from agentworks_core.workspaces import repository as workspaces

Permission = Literal["read", "write", "delete", "billing", "invite", "agent_run", "audit"]


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"
    VIEWER = "viewer"


PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OWNER: frozenset({"read", "write", "delete", "billing", "invite", "agent_run", "audit"}),
    Role.MEMBER: frozenset({"read", "write", "agent_run"}),
    Role.VIEWER: frozenset({"read"}),
}


@dataclass(frozen=True, slots=True)
class Access:
    """A principal acting in one workspace with a role, inside the request's transaction."""

    principal: Principal
    workspace_id: uuid.UUID
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def workspace_of(session: AsyncSession, kind: str, resource_id: uuid.UUID) -> uuid.UUID:
    """The workspace owning a resource, or 404 when there is no such resource of that kind."""
    entry = await session.get(ResourceIndex, resource_id)
    if entry is None or entry.kind != kind:
        raise NotFound(f"No {kind} with id {resource_id}.")
    return entry.workspace_id


async def membership(session: AsyncSession, principal: Principal, workspace_id: uuid.UUID) -> Member | None:
    """The principal's membership; a pending invitation grants nothing until it is accepted with its token."""
    return await workspaces.member_by_user(session, workspace_id, principal.user_id)


async def authorize(
    session: AsyncSession,
    principal: Principal,
    workspace_id: uuid.UUID,
    permission: Permission,
    kind: str = "workspace",
    resource_id: uuid.UUID | None = None,
) -> Access:
    """404 for anything outside the principal's workspaces (never reveal it exists); 403 for a weak role."""
    missing = NotFound(f"No {kind} with id {resource_id or workspace_id}.")
    if principal.key_workspace_id not in (None, workspace_id):
        raise missing
    await set_tenant(session, workspace_id=workspace_id, user_id=principal.user_id, email=principal.email)
    member = await membership(session, principal, workspace_id)
    if member is None:
        raise missing
    role = Role(member.role)
    if permission not in PERMISSIONS[role]:
        raise Forbidden(f"Your role ({role}) does not allow this; it needs the '{permission}' permission.")
    return Access(principal, workspace_id, role)


async def authorize_resource(
    session: AsyncSession, principal: Principal, kind: str, resource_id: uuid.UUID, permission: Permission
) -> Access:
    workspace_id = await workspace_of(session, kind, resource_id)
    return await authorize(session, principal, workspace_id, permission, kind, resource_id)


def index_resource(session: AsyncSession, kind: str, resource_id: uuid.UUID, workspace_id: uuid.UUID) -> None:
    session.add(ResourceIndex(id=resource_id, kind=kind, workspace_id=workspace_id))
