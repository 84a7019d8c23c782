"""Who may see and change billing: the caller's role comes from core, the request's transaction from here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Literal

import httpx
from agentworks_platform.app import context_of
from agentworks_platform.errors import AppError, Forbidden, NotFound
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.principal import Principal, current_principal
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

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


async def transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with context_of(request).db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(transaction, scope="function")]
PrincipalDep = Annotated[Principal, Depends(current_principal)]


def core_of(request: Request) -> InternalClient:
    core: InternalClient = context_of(request).extras["core"]
    return core


async def _core_get(core: InternalClient, path: str) -> httpx.Response:
    try:
        response = await core.request("GET", path)
    except httpx.HTTPError:
        response = httpx.Response(503)
    if response.status_code not in (200, 404):
        raise AppError(
            "Billing cannot check access right now; try again shortly.",
            code="unavailable",
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return response


async def authorize(request: Request, principal: Principal, workspace_id: uuid.UUID, permission: Permission) -> Access:
    """404 for workspaces the caller is not in (never reveal they exist); 403 for a role without the permission."""
    missing = NotFound(f"No workspace with id {workspace_id}.")
    if principal.key_workspace_id not in (None, workspace_id):
        raise missing
    response = await _core_get(core_of(request), f"/internal/workspaces/{workspace_id}/members/{principal.user_id}")
    if response.status_code == 404:
        raise missing
    access = Access(principal, workspace_id, str(response.json()["role"]))
    if not access.can(permission):
        raise Forbidden(f"Your role ({access.role}) does not allow this; it needs the '{permission}' permission.")
    return access


async def check_project(request: Request, workspace_id: uuid.UUID, project_id: uuid.UUID) -> None:
    """404 unless the project exists in this workspace."""
    response = await _core_get(core_of(request), f"/internal/projects/{project_id}")
    if response.status_code == 404 or response.json().get("workspace_id") != str(workspace_id):
        raise NotFound(f"No project with id {project_id}.")
