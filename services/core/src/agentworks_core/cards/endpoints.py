"""Card endpoints, including the seed's ``POST /api/projects/:id/cards`` and ``PUT /api/cards/:id/move``."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from agentworks_platform.pagination import Page
from fastapi import APIRouter, Path, Query, Response

from agentworks_core.access import PrincipalDep, authorize, authorize_resource
from agentworks_core.cards import service
from agentworks_core.cards.schemas import CardCreate, CardImageOut, CardMove, CardOut, CardUpdate
from agentworks_core.schemas import MAX_PAGE
from agentworks_core.state import ImageFilesDep, OutboxDep

HumanId = Annotated[
    str, Path(pattern=r"^[A-Za-z][A-Za-z0-9]{0,9}-[1-9][0-9]{0,8}$", description="A card's short id, e.g. SHOP-42.")
]
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")

router = APIRouter(prefix="/api", tags=["cards"], responses=error_responses(404, 409))


@router.post("/projects/{project_id}/cards", status_code=201, summary="Create a card (first lane by default)")
async def create_card(
    project_id: uuid.UUID, body: CardCreate, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> CardOut:
    access = await authorize_resource(session, principal, "project", project_id, "write")
    return await service.create(session, access, outbox, project_id, body)


@router.get("/projects/{project_id}/cards", summary="Cards of a project, optionally of one lane")
async def list_cards(
    project_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    lane_id: uuid.UUID | None = None,
    archived: Annotated[bool, Query(description="List the archived cards instead of those on the board.")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[CardOut]:
    await authorize_resource(session, principal, "project", project_id, "read")
    items, next_cursor = await service.page(session, project_id, lane_id, archived, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/cards/{card_id}")
async def get_card(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> CardOut:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.read(session, card_id)


@router.patch("/cards/{card_id}", summary="Edit a card's fields")
async def update_card(
    card_id: uuid.UUID, body: CardUpdate, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> CardOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.update(session, access, outbox, card_id, body)


@router.put("/cards/{card_id}/move", summary="Move a card within or across lanes (409 at a WIP limit)")
async def move_card(
    card_id: uuid.UUID, body: CardMove, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> CardOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.move(session, access, outbox, card_id, body)


@router.get("/workspaces/{workspace_id}/cards/{human_id}", summary="The card a short id (SHOP-42) names")
async def card_by_human_id(
    workspace_id: uuid.UUID, human_id: HumanId, session: SessionDep, principal: PrincipalDep
) -> CardOut:
    access = await authorize(session, principal, workspace_id, "read")
    return await service.resolve(session, access.workspace_id, human_id)


@router.post("/cards/{card_id}/archive", summary="Archive a card: it leaves the board until unarchived")
async def archive_card(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep) -> CardOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.archive(session, access, outbox, card_id)


@router.post("/cards/{card_id}/unarchive", summary="Restore an archived card to its lane (409 at a WIP limit)")
async def unarchive_card(
    card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> CardOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.unarchive(session, access, outbox, card_id)


@router.put("/cards/{card_id}/labels/{label_id}", summary="Put one of its project's labels on a card")
async def add_card_label(
    card_id: uuid.UUID, label_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> CardOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.label_card(session, access, outbox, card_id, label_id, on=True)


@router.delete("/cards/{card_id}/labels/{label_id}", summary="Take a label off a card")
async def remove_card_label(
    card_id: uuid.UUID, label_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> CardOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.label_card(session, access, outbox, card_id, label_id, on=False)


@router.delete("/cards/{card_id}", status_code=204, summary="Delete a card for good (owners; archive to undo)")
async def delete_card(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep) -> Response:
    access = await authorize_resource(session, principal, "card", card_id, "delete")
    await service.delete(session, access, outbox, card_id)
    return Response(status_code=204)


@router.get("/cards/{card_id}/children")
async def card_children(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[CardOut]:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.children(session, card_id)


@router.get("/cards/{card_id}/images", summary="Images agents generated for a card, oldest first")
async def card_images(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[CardImageOut]:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.images(session, card_id)


@router.get(
    "/cards/{card_id}/images/{image_id}/file",
    summary="The file of an image an agent generated for a card",
    response_class=Response,
    responses={200: {"content": {kind: {} for kind in IMAGE_TYPES}, "description": "The image"}},
)
async def card_image_file(
    card_id: uuid.UUID, image_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, files: ImageFilesDep
) -> Response:
    await authorize_resource(session, principal, "card", card_id, "read")
    image = await service.image_file(session, files, card_id, image_id)
    return Response(image.data, media_type=image.content_type, headers={"Cache-Control": "private, max-age=3600"})
