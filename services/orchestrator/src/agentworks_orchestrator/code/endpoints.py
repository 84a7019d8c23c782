"""The code of projects and cards, for people (through the gateway): the repository, its files and a zip of a
ref, connecting a remote of the project's own instead, a card's branch against the default branch, and merging
it; and git's smart HTTP, which the gateway relays here for people's git clients."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import allow_callers
from agentworks_platform.errors import AppError, error_responses
from agentworks_platform.principal import Principal, current_principal
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from agentworks_orchestrator.code import service
from agentworks_orchestrator.code.git_http import (
    SMART_PATHS,
    AmbiguousServiceError,
    GitRequest,
    GitStreamingResponse,
    service_of,
)
from agentworks_orchestrator.code.git_view import REF_MAX_BYTES, REF_PATTERN
from agentworks_orchestrator.code.schemas import (
    CardCodeOut,
    CommandRunsOut,
    ConnectedRemoteOut,
    FilesOut,
    MergeOut,
    RemoteIn,
    RepositoryOut,
)
from agentworks_orchestrator.code.service import WRITERS
from agentworks_orchestrator.state import CodeDep

router = APIRouter(prefix="/api", tags=["code"], responses=error_responses(404, 503))
# Like billing's Stripe webhook, a relay rather than an internal contract: git's bytes, no model to declare.
git_http = APIRouter(tags=["git"], dependencies=[Depends(allow_callers("gateway"))])
PrincipalDep = Annotated[Principal, Depends(current_principal)]
RefQuery = Annotated[
    str | None,
    Query(
        description="Branch, tag or commit (the default branch when absent). The pattern covers common names; any "
        "name git accepts is served, one git would refuse (check-ref-format) is a 400 invalid_ref, an unknown one 404.",
        json_schema_extra={"pattern": REF_PATTERN, "minLength": 1, "maxLength": REF_MAX_BYTES},
    ),
]


@router.get("/projects/{project_id}/repository", summary="The project's repository: clone URL and branches")
async def repository(project_id: uuid.UUID, principal: PrincipalDep, code: CodeDep) -> RepositoryOut:
    await service.project_role(code, principal, project_id)
    return await service.project_repository(code, project_id)


@router.put(
    "/projects/{project_id}/repository/remote",
    summary="Connect a git remote of the project's own instead of the platform's repository (owners)",
    responses=error_responses(400, 403, 422),
)
async def connect_remote(
    project_id: uuid.UUID, remote_in: RemoteIn, principal: PrincipalDep, code: CodeDep
) -> ConnectedRemoteOut:
    workspace_id = await service.project_of_owner(code, principal, project_id)
    return await service.connect_remote(code, workspace_id, project_id, remote_in, principal)


@router.delete(
    "/projects/{project_id}/repository/remote",
    summary="Return the project to the platform's repository (owners); the remote keeps what was pushed to it",
    status_code=204,
    responses=error_responses(403),
)
async def disconnect_remote(project_id: uuid.UUID, principal: PrincipalDep, code: CodeDep) -> None:
    await service.project_of_owner(code, principal, project_id)
    await service.disconnect_remote(code, project_id)


@router.get(
    "/projects/{project_id}/repository/files",
    summary="A directory (its entries) or a file (its text) of a ref",
    responses=error_responses(400),
)
async def files(
    project_id: uuid.UUID,
    principal: PrincipalDep,
    code: CodeDep,
    ref: RefQuery = None,
    path: Annotated[str, Query(max_length=1000)] = "",
) -> FilesOut:
    await service.project_role(code, principal, project_id)
    return await service.files(code, project_id, ref, path)


@router.get(
    "/projects/{project_id}/repository/archive.zip",
    summary="A zip of a ref's files",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The zip archive."},
        **error_responses(400, 503),
    },
)
async def archive(
    project_id: uuid.UUID, principal: PrincipalDep, code: CodeDep, ref: RefQuery = None
) -> StreamingResponse:
    await service.project_role(code, principal, project_id)
    name, chunks = await service.archive(code, project_id, ref)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(chunks, media_type="application/zip", headers=disposition)


@router.get("/cards/{card_id}/code", summary="The card's branch: commits, changed files and diff against main")
async def card_code(card_id: uuid.UUID, principal: PrincipalDep, code: CodeDep) -> CardCodeOut:
    gate = await service.card_gate(code, principal, card_id)
    return await service.card_code(code, gate)


@router.get("/cards/{card_id}/code/commands", summary="The commands agents ran on the card's branch, newest first")
async def card_command_runs(card_id: uuid.UUID, principal: PrincipalDep, code: CodeDep) -> CommandRunsOut:
    gate = await service.card_gate(code, principal, card_id)
    return await service.command_runs(code, gate)


@router.post(
    "/cards/{card_id}/code/merge",
    summary="Merge the card's branch into the default branch (never forced)",
    responses=error_responses(403, 409),
)
async def merge(card_id: uuid.UUID, principal: PrincipalDep, code: CodeDep) -> MergeOut:
    gate = await service.card_gate(code, principal, card_id, write=True)
    return await service.merge(code, gate, principal)


@git_http.get("/git/{project_id}/{git_path:path}", summary="Git's smart HTTP: the refs a client asks for")
@git_http.post(
    "/git/{project_id}/{git_path:path}",
    summary="Git's smart HTTP for a person's git client (the gateway's /git/<project>.git/...)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-git-upload-pack-result": {}}, "description": "Git's answer."}},
)
async def git_smart_http(
    project_id: uuid.UUID,
    git_path: Annotated[str, Path(max_length=100)],
    request: Request,
    principal: PrincipalDep,
    code: CodeDep,
) -> Response:
    # Git prints a text/plain refusal to the person (``remote: ...``), so refusals here are plain text.
    query = request.url.query
    try:
        git_service = service_of(git_path, query)
    except AmbiguousServiceError as refused:
        return PlainTextResponse(f"{refused}\n", status_code=400)
    if git_path not in SMART_PATHS or git_service is None or (git_path == "info/refs") != (request.method == "GET"):
        return PlainTextResponse("Only git's smart HTTP protocol is served here.\n", status_code=404)
    try:
        role = await service.project_role(code, principal, project_id)
    except AppError as refused:
        return PlainTextResponse(f"{refused.message}\n", status_code=refused.status_code)
    if git_service == "git-receive-pack" and role not in WRITERS:
        message = f"Your role in this workspace ({role}) can clone and fetch but not push.\n"
        return PlainTextResponse(message, status_code=403)
    headers = request.headers
    answer = await service.git_http(
        code,
        project_id,
        GitRequest(
            method=request.method,
            path=git_path,
            query=query,
            content_type=headers.get("content-type", ""),
            content_encoding=headers.get("content-encoding", ""),
            git_protocol=headers.get("git-protocol", ""),
            remote_user=principal.email,
            remote_addr=principal.client_ip,
        ),
        request.stream(),
    )
    return GitStreamingResponse(answer.body, status_code=answer.status, headers=answer.headers)
