"""Workspace and member endpoints."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from agentworks_internal_api.core import BoardOwnerOut, CardOwnerOut, MembershipOut, ProjectOwnerOut
from agentworks_platform.app import SessionDep, allow_callers, context_of
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Depends, Request, Response

from agentworks_core.access import PrincipalDep, authorize, workspace_of
from agentworks_core.config import CoreSettings
from agentworks_core.state import OutboxDep
from agentworks_core.workspaces import invitations, service
from agentworks_core.workspaces.schemas import (
    AcceptInvitation,
    Invite,
    InvitedMemberOut,
    MemberOut,
    RoleChange,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
)

router = APIRouter(prefix="/api/workspaces", tags=["workspaces"], responses=error_responses(404, 409))
accepting = APIRouter(prefix="/api/invitations", tags=["workspaces"], responses=error_responses(403, 404, 409, 410))
internal = APIRouter(prefix="/internal", tags=["internal"], responses=error_responses(404))


@router.get("", summary="The workspaces you belong to")
async def list_workspaces(session: SessionDep, principal: PrincipalDep) -> list[WorkspaceOut]:
    return await service.list_mine(session, principal)


@router.post("", status_code=201, summary="Create a workspace (you become its owner)")
async def create_workspace(body: WorkspaceCreate, session: SessionDep, principal: PrincipalDep) -> WorkspaceOut:
    return await service.create(session, principal, body)


@router.get("/{workspace_id}")
async def get_workspace(workspace_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> WorkspaceOut:
    return await service.get(session, await authorize(session, principal, workspace_id, "read"))


@router.patch("/{workspace_id}", summary="Rename a workspace (owner)")
async def rename_workspace(
    workspace_id: uuid.UUID, body: WorkspaceUpdate, session: SessionDep, principal: PrincipalDep
) -> WorkspaceOut:
    access = await authorize(session, principal, workspace_id, "delete")
    return await service.rename(session, access, body.name)


@router.delete("/{workspace_id}", status_code=204, summary="Delete a workspace and everything in it (owner)")
async def delete_workspace(
    workspace_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> Response:
    await service.delete(session, await authorize(session, principal, workspace_id, "delete"), outbox)
    return Response(status_code=204)


@router.get("/{workspace_id}/members")
async def list_members(workspace_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[MemberOut]:
    access = await authorize(session, principal, workspace_id, "read")
    return [MemberOut.model_validate(m) for m in await service.members(session, access)]


def _invitation_ttl(request: Request) -> timedelta:
    settings: CoreSettings = context_of(request).settings  # type: ignore[assignment]
    return timedelta(hours=settings.invitation_ttl_hours)


InvitationTtl = Annotated[timedelta, Depends(_invitation_ttl)]


@router.post(
    "/{workspace_id}/members",
    status_code=201,
    summary="Invite someone by email (owner); the answer carries their one-time invitation link",
)
async def invite_member(
    workspace_id: uuid.UUID, body: Invite, session: SessionDep, principal: PrincipalDep, ttl: InvitationTtl
) -> InvitedMemberOut:
    access = await authorize(session, principal, workspace_id, "invite")
    return await service.invite(session, access, body, ttl)


@router.post(
    "/{workspace_id}/members/{member_id}/invitation",
    status_code=201,
    summary="Re-issue a pending member's invitation link (owner); the earlier link stops working",
)
async def reissue_invitation(
    workspace_id: uuid.UUID, member_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, ttl: InvitationTtl
) -> InvitedMemberOut:
    access = await authorize(session, principal, workspace_id, "invite")
    return await invitations.reissue(session, access, member_id, ttl)


@router.patch("/{workspace_id}/members/{member_id}", summary="Change a member's role (owner)")
async def change_role(
    workspace_id: uuid.UUID, member_id: uuid.UUID, body: RoleChange, session: SessionDep, principal: PrincipalDep
) -> MemberOut:
    access = await authorize(session, principal, workspace_id, "invite")
    return MemberOut.model_validate(await service.change_role(session, access, member_id, body))


@router.delete("/{workspace_id}/members/{member_id}", status_code=204, summary="Remove a member (owner)")
async def remove_member(
    workspace_id: uuid.UUID, member_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    await service.remove(session, await authorize(session, principal, workspace_id, "invite"), member_id)
    return Response(status_code=204)


@accepting.post("/accept", summary="Accept an invitation with its token (signed in with the invited email)")
async def accept_invitation(body: AcceptInvitation, session: SessionDep, principal: PrincipalDep) -> WorkspaceOut:
    return await invitations.accept(session, principal, body.token)


@internal.get(
    "/workspaces/{workspace_id}/members/{user_id}",
    dependencies=[Depends(allow_callers("gateway", "orchestrator", "log-stream", "billing"))],
    summary="A user's role in a workspace",
)
async def membership(workspace_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep) -> MembershipOut:
    member = await service.membership_of(session, workspace_id, user_id)
    return MembershipOut(workspace_id=workspace_id, user_id=user_id, role=member.role)


@internal.get(
    "/cards/{card_id}",
    dependencies=[Depends(allow_callers("log-stream"))],
    summary="Which workspace, project and board a card belongs to",
)
async def card_owner(card_id: uuid.UUID, session: SessionDep) -> CardOwnerOut:
    card = await service.card_owned(session, card_id)
    return CardOwnerOut(workspace_id=card.workspace_id, project_id=card.project_id, board_id=card.board_id)


@internal.get(
    "/boards/{board_id}",
    dependencies=[Depends(allow_callers("log-stream"))],
    summary="Which workspace a board belongs to",
)
async def board_owner(board_id: uuid.UUID, session: SessionDep) -> BoardOwnerOut:
    return BoardOwnerOut(workspace_id=await workspace_of(session, "board", board_id))


@internal.get(
    "/projects/{project_id}",
    dependencies=[Depends(allow_callers("billing", "orchestrator", "log-stream"))],
    summary="Which workspace a project belongs to",
)
async def project_owner(project_id: uuid.UUID, session: SessionDep) -> ProjectOwnerOut:
    return ProjectOwnerOut(workspace_id=await workspace_of(session, "project", project_id), project_id=project_id)
