"""Project, board and lane endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from agentworks_platform.pagination import Page
from fastapi import APIRouter, Header, Query, Response

from agentworks_core.access import PrincipalDep, authorize, authorize_resource
from agentworks_core.projects import service
from agentworks_core.projects.schemas import (
    BoardDetail,
    BoardOut,
    LaneOrder,
    LaneOut,
    LaneUpdate,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
)
from agentworks_core.schemas import MAX_PAGE
from agentworks_core.state import BoardCacheDep, OutboxDep

router = APIRouter(prefix="/api", tags=["projects"], responses=error_responses(404))


@router.get("/workspaces/{workspace_id}/projects")
async def list_projects(
    workspace_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[ProjectOut]:
    access = await authorize(session, principal, workspace_id, "read")
    items, next_cursor = await service.page(session, access, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/workspaces/{workspace_id}/projects",
    status_code=201,
    summary="Create a project with its board and the default lanes",
)
async def create_project(
    workspace_id: uuid.UUID, body: ProjectCreate, session: SessionDep, principal: PrincipalDep
) -> ProjectOut:
    return await service.create(session, await authorize(session, principal, workspace_id, "write"), body)


@router.get("/projects/{project_id}")
async def get_project(project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ProjectOut:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.get(session, project_id)


@router.patch("/projects/{project_id}")
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, session: SessionDep, principal: PrincipalDep
) -> ProjectOut:
    access = await authorize_resource(session, principal, "project", project_id, "write")
    return await service.update(session, access, project_id, body)


@router.delete("/projects/{project_id}", status_code=204, summary="Delete a project and its board (owner)")
async def delete_project(
    project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> Response:
    access = await authorize_resource(session, principal, "project", project_id, "delete")
    await service.delete(session, access, outbox, project_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/boards")
async def list_boards(project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[BoardOut]:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.boards(session, project_id)


@router.get(
    "/boards/{board_id}",
    summary="A board with its lanes (in order, with WIP counts) and cards",
    response_model=BoardDetail,
)
async def get_board(
    board_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    cache: BoardCacheDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Answers ``304 Not Modified`` when the caller's ``If-None-Match`` names the board's current revision."""
    await authorize_resource(session, principal, "board", board_id, "read")
    revision = await service.board_revision(session, board_id)
    etag = f'W/"{revision}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if if_none_match is not None and etag in _entity_tags(if_none_match):
        return Response(status_code=304, headers=headers)
    body = await service.board_json(session, cache, board_id, revision)
    return Response(body, media_type="application/json", headers=headers)


def _entity_tags(header: str) -> set[str]:
    """The tags of an ``If-None-Match`` header, compared weakly (``W/"3"`` matches ``"3"``)."""
    tags = {tag.strip() for tag in header.split(",")}
    return tags | {f"W/{tag}" for tag in tags if not tag.startswith("W/")}


@router.put("/boards/{board_id}/lanes/order", summary="Reorder the board's lanes")
async def reorder_lanes(
    board_id: uuid.UUID, body: LaneOrder, session: SessionDep, principal: PrincipalDep
) -> list[LaneOut]:
    access = await authorize_resource(session, principal, "board", board_id, "write")
    return await service.reorder_lanes(session, access, board_id, body)


@router.patch("/lanes/{lane_id}", summary="Rename a lane or change its WIP limit")
async def update_lane(lane_id: uuid.UUID, body: LaneUpdate, session: SessionDep, principal: PrincipalDep) -> LaneOut:
    access = await authorize_resource(session, principal, "lane", lane_id, "write")
    return await service.update_lane(session, access, lane_id, body)
