"""Project document endpoints: latest version, history, and writes that append a version."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep
from agentworks_platform.bounds import INTEGER_MAX
from agentworks_platform.errors import error_responses
from agentworks_platform.pagination import Page
from fastapi import APIRouter, Path, Query

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.documents import service
from agentworks_core.documents.schemas import DocumentOut, DocumentWrite, VersionMeta, VersionOut
from agentworks_core.schemas import Limit
from agentworks_core.state import DocumentStoreDep

router = APIRouter(prefix="/api/projects/{project_id}/documents", tags=["documents"], responses=error_responses(404))


Kind = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


@router.get("")
async def list_documents(
    project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, store: DocumentStoreDep
) -> list[DocumentOut]:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.list_documents(session, store, project_id)


@router.get("/{kind}", summary="The latest version of a document")
async def latest(
    project_id: uuid.UUID, kind: Kind, session: SessionDep, principal: PrincipalDep, store: DocumentStoreDep
) -> VersionOut:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.latest(session, store, project_id, kind)


@router.put("/{kind}", summary="Write a new version of a document")
async def write(
    project_id: uuid.UUID,
    kind: Kind,
    body: DocumentWrite,
    session: SessionDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
) -> DocumentOut:
    access = await authorize_resource(session, principal, "project", project_id, "write")
    return await service.write(session, store, access, project_id, kind, body)


@router.get("/{kind}/versions", summary="Version history, newest first")
async def history(
    project_id: uuid.UUID,
    kind: Kind,
    session: SessionDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
    cursor: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[VersionMeta]:
    await authorize_resource(session, principal, "project", project_id, "read")
    items, next_cursor = await service.history(session, store, project_id, kind, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{kind}/versions/{version}")
async def version(
    project_id: uuid.UUID,
    kind: Kind,
    version: Annotated[int, Path(ge=1, le=INTEGER_MAX)],
    session: SessionDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
) -> VersionOut:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.version(session, store, project_id, kind, version)
