"""API key endpoints: every member manages their own keys; owners see and revoke everyone's."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep, context_of
from agentworks_platform.errors import error_responses
from agentworks_platform.internal_http import InternalClient
from fastapi import APIRouter, Depends, Request, Response

from agentworks_gateway.apikeys import service
from agentworks_gateway.apikeys.schemas import KeyCreate, KeyOut, NewKeyOut
from agentworks_gateway.identity.endpoints import CallerDep
from agentworks_gateway.state import gateway_state

router = APIRouter(
    prefix="/api/workspaces/{workspace_id}/api-keys", tags=["api keys"], responses=error_responses(403, 404, 409)
)


def _core(request: Request) -> InternalClient:
    return gateway_state(context_of(request)).upstreams["core"]


CoreDep = Annotated[InternalClient, Depends(_core)]


@router.post(
    "",
    status_code=201,
    summary="Create a key of your own (any member, viewers too); it acts with your role when used, shown only here",
)
async def create_key(
    workspace_id: uuid.UUID, body: KeyCreate, caller: CallerDep, core: CoreDep, session: SessionDep
) -> NewKeyOut:
    await service.require_member(core, caller, workspace_id)
    key, secret = await service.create(session, caller, workspace_id, body.name)
    await service.audit(core, caller, workspace_id, "api_key.created", key)
    created = KeyOut.model_validate(key).model_copy(update={"created_by_email": caller.principal.email})
    return NewKeyOut(**created.model_dump(), key=secret)


@router.get("", summary="API keys (never their secrets): all of the workspace's for owners, your own for others")
async def list_keys(workspace_id: uuid.UUID, caller: CallerDep, core: CoreDep, session: SessionDep) -> list[KeyOut]:
    role = await service.require_member(core, caller, workspace_id)
    listed = await service.list_keys(session, caller, role, workspace_id)
    return [KeyOut.model_validate(key).model_copy(update={"created_by_email": email}) for key, email in listed]


@router.delete(
    "/{key_id}", status_code=204, summary="Revoke an API key (owners any, others their own); it stops working at once"
)
async def revoke_key(
    workspace_id: uuid.UUID, key_id: uuid.UUID, caller: CallerDep, core: CoreDep, session: SessionDep
) -> Response:
    role = await service.require_member(core, caller, workspace_id)
    key = await service.revoke(session, caller, role, workspace_id, key_id)
    await service.audit(core, caller, workspace_id, "api_key.revoked", key)
    return Response(status_code=204)
