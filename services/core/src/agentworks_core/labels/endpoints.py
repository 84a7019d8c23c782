"""Label endpoints: a project's labels, created, renamed, recoloured and deleted by its members."""

from __future__ import annotations

import uuid

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Response

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.labels import service
from agentworks_core.labels.schemas import LabelChangeIn, LabelIn, LabelOut
from agentworks_core.state import OutboxDep

router = APIRouter(prefix="/api", tags=["labels"], responses=error_responses(404, 409))


@router.get("/projects/{project_id}/labels", summary="A project's labels, by name")
async def list_labels(project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[LabelOut]:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.labels(session, project_id)


@router.post("/projects/{project_id}/labels", status_code=201, summary="Create a label (409 if the name is taken)")
async def create_label(project_id: uuid.UUID, body: LabelIn, session: SessionDep, principal: PrincipalDep) -> LabelOut:
    access = await authorize_resource(session, principal, "project", project_id, "write")
    return await service.create(session, access, project_id, body)


@router.patch("/labels/{label_id}", summary="Rename or recolour a label")
async def change_label(
    label_id: uuid.UUID, body: LabelChangeIn, session: SessionDep, principal: PrincipalDep
) -> LabelOut:
    access = await authorize_resource(session, principal, "label", label_id, "write")
    return await service.change(session, access, label_id, body)


@router.delete("/labels/{label_id}", status_code=204, summary="Delete a label; the cards holding it lose it")
async def delete_label(
    label_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> Response:
    access = await authorize_resource(session, principal, "label", label_id, "write")
    await service.delete(session, access, outbox, label_id)
    return Response(status_code=204)
