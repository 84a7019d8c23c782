"""Who may see and change billing: the caller's role comes from core, the request's transaction from here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from agentworks_internal_api import PeerUnavailableError
from agentworks_internal_api.core import PROJECT_OWNER, MemberLookupError, member_role
from agentworks_platform.errors import Forbidden, NotFound, Unavailable
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.principal import Principal, current_principal
from fastapi import Depends, Request

from agentworks_billing.state import state_of_request

Permission = Literal["charges", "cost", "manage"]
PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset({"charges", "cost", "manage"}),
    "member": frozenset({"charges", "cost"}),
    "viewer": frozenset({"charges"}),
}


@dataclass(frozen=True, slots=True)
class Access:
    """A principal's role in one workspace; viewers see charges but never provider cost."""

    principal: Principal
    workspace_id: uuid.UUID
    role: str

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def core_of(request: Request) -> InternalClient:
    return state_of_request(request).core


UNAVAILABLE = "Billing cannot check access right now; try again shortly."


async def authorize(request: Request, principal: Principal, workspace_id: uuid.UUID, permission: Permission) -> Access:
    """404 for workspaces the caller is not in (never reveal they exist); 403 for a role without the permission."""
    missing = NotFound(f"No workspace with id {workspace_id}.")
    if principal.key_workspace_id not in (None, workspace_id):
        raise missing
    try:
        role = await member_role(core_of(request), workspace_id, principal.user_id)
    except MemberLookupError:
        raise Unavailable(UNAVAILABLE) from None
    if role is None:
        raise missing
    access = Access(principal, workspace_id, role)
    if not access.can(permission):
        raise Forbidden(f"Your role ({access.role}) does not allow this; it needs the '{permission}' permission.")
    return access


async def check_project(request: Request, workspace_id: uuid.UUID, project_id: uuid.UUID) -> None:
    """404 unless the project exists in this workspace."""
    try:
        owner = await PROJECT_OWNER.ask(core_of(request), project_id)
    except PeerUnavailableError:
        raise Unavailable(UNAVAILABLE) from None
    if owner is None or owner.workspace_id != workspace_id:
        raise NotFound(f"No project with id {project_id}.")
