"""Audit log endpoint (owners)."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_internal_api.core import AuditIn
from agentworks_platform.app import SessionDep, allow_callers
from agentworks_platform.errors import error_responses
from agentworks_platform.pagination import Page
from fastapi import APIRouter, Depends, Query, Response

from agentworks_core.access import PrincipalDep, authorize
from agentworks_core.audit import service
from agentworks_core.audit.schemas import AuditOut

router = APIRouter(prefix="/api/workspaces/{workspace_id}/audit", tags=["audit"], responses=error_responses(404))
internal = APIRouter(prefix="/internal", tags=["internal"])


@router.get("", summary="Every state change in the workspace, newest first (owner)")
async def audit_log(
    workspace_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AuditOut]:
    access = await authorize(session, principal, workspace_id, "audit")
    rows, next_cursor = await service.entries(session, access, cursor, limit)
    return Page(items=[AuditOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@internal.post(
    "/workspaces/{workspace_id}/audit",
    status_code=204,
    dependencies=[Depends(allow_callers("gateway"))],
    summary="Record an audit entry",
)
async def record_entry(workspace_id: uuid.UUID, body: AuditIn, session: SessionDep) -> Response:
    await service.record_for_service(session, workspace_id, body)
    return Response(status_code=204)
