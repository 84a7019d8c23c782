"""The code of projects and cards, for people (through the gateway): the repository, its files and a zip of a
ref, a card's branch against the default branch, and merging it."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.errors import error_responses
from agentworks_platform.principal import Principal, current_principal
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from agentworks_orchestrator.code.schemas import CardCodeOut, CommandRunsOut, FilesOut, MergeOut, RepositoryOut
from agentworks_orchestrator.state import CodeServiceDep

router = APIRouter(prefix="/api", tags=["code"], responses=error_responses(404, 503))
PrincipalDep = Annotated[Principal, Depends(current_principal)]
RefQuery = Annotated[str | None, Query(max_length=200, description="Branch, tag or commit (the default branch).")]


@router.get("/projects/{project_id}/repository", summary="The project's repository: clone URL and branches")
async def repository(project_id: uuid.UUID, principal: PrincipalDep, service: CodeServiceDep) -> RepositoryOut:
    await service.project_role(principal, project_id)
    return await service.repository(project_id)


@router.get(
    "/projects/{project_id}/repository/files",
    summary="A directory (its entries) or a file (its text) of a ref",
    responses=error_responses(400),
)
async def files(
    project_id: uuid.UUID,
    principal: PrincipalDep,
    service: CodeServiceDep,
    ref: RefQuery = None,
    path: Annotated[str, Query(max_length=1000)] = "",
) -> FilesOut:
    await service.project_role(principal, project_id)
    return await service.files(project_id, ref, path)


@router.get(
    "/projects/{project_id}/repository/archive.zip",
    summary="A zip of a ref's files",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The zip archive."}},
)
async def archive(
    project_id: uuid.UUID, principal: PrincipalDep, service: CodeServiceDep, ref: RefQuery = None
) -> StreamingResponse:
    await service.project_role(principal, project_id)
    name, chunks = await service.archive(project_id, ref)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(chunks, media_type="application/zip", headers=disposition)


@router.get("/cards/{card_id}/code", summary="The card's branch: commits, changed files and diff against main")
async def card_code(card_id: uuid.UUID, principal: PrincipalDep, service: CodeServiceDep) -> CardCodeOut:
    gate = await service.card_gate(principal, card_id)
    return await service.card_code(gate)


@router.get("/cards/{card_id}/code/commands", summary="The commands agents ran on the card's branch, newest first")
async def card_command_runs(card_id: uuid.UUID, principal: PrincipalDep, service: CodeServiceDep) -> CommandRunsOut:
    gate = await service.card_gate(principal, card_id)
    return await service.command_runs(gate)


@router.post(
    "/cards/{card_id}/code/merge",
    summary="Merge the card's branch into the default branch (never forced)",
    responses=error_responses(403, 409),
)
async def merge(card_id: uuid.UUID, principal: PrincipalDep, service: CodeServiceDep) -> MergeOut:
    gate = await service.card_gate(principal, card_id, write=True)
    return await service.merge(gate, principal)
