"""API key endpoints (workspace owners)."""

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
    prefix="/api/workspaces/{workspace_id}/api-keys", tags=["api keys"], responses=error_responses(404, 409)
)


def _core(request: Request) -> InternalClient:
    return gateway_state(context_of(request)).upstreams["core"]


CoreDep = Annotated[InternalClient, Depends(_core)]


@router.post("", status_code=201, summary="Create an API key; the key is shown only in this response")
async def create_key(
    workspace_id: uuid.UUID, body: KeyCreate, caller: CallerDep, core: CoreDep, session: SessionDep
) -> NewKeyOut:
    await service.require_owner(core, caller, workspace_id)
    key, secret = await service.create(session, caller, workspace_id, body.name)
    await service.audit(core, caller, workspace_id, "api_key.created", key)
    return NewKeyOut(**KeyOut.model_validate(key).model_dump(), key=secret)


@router.get("", summary="The workspace's API keys (never their secrets)")
async def list_keys(workspace_id: uuid.UUID, caller: CallerDep, core: CoreDep, session: SessionDep) -> list[KeyOut]:
    await service.require_owner(core, caller, workspace_id)
    return [KeyOut.model_validate(k) for k in await service.list_keys(session, workspace_id)]


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key; it stops working at once")
async def revoke_key(
    workspace_id: uuid.UUID, key_id: uuid.UUID, caller: CallerDep, core: CoreDep, session: SessionDep
) -> Response:
    await service.require_owner(core, caller, workspace_id)
    key = await service.revoke(session, workspace_id, key_id)
    await service.audit(core, caller, workspace_id, "api_key.revoked", key)
    return Response(status_code=204)
