"""A card's comments: list them, add one as a person (naming agents and people), edit or delete one."""

from __future__ import annotations

import uuid

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Response

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.comments import service
from agentworks_core.comments.schemas import CommentIn, CommentOut, CommentPostedOut
from agentworks_core.state import OutboxDep

router = APIRouter(prefix="/api/cards/{card_id}/comments", tags=["comments"], responses=error_responses(404))


@router.get("", summary="A card's comments, by people and agents, oldest first")
async def list_comments(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[CommentOut]:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.comments(session, card_id)


@router.post(
    "",
    status_code=201,
    summary="Comment on a card; @agent runs that agent with the comment, @person notifies them",
    responses=error_responses(403, 409),
)
async def add_comment(
    card_id: uuid.UUID, body: CommentIn, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep
) -> CommentPostedOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.add(session, access, outbox, card_id, body)


@router.patch("/{comment_id}", summary="Edit your comment", responses=error_responses(403, 409))
async def edit_comment(
    card_id: uuid.UUID, comment_id: uuid.UUID, body: CommentIn, session: SessionDep, principal: PrincipalDep
) -> CommentOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.edit(session, access, card_id, comment_id, body)


@router.delete(
    "/{comment_id}",
    status_code=204,
    summary="Delete your comment (an owner may delete any); it stays in the thread as deleted",
    responses=error_responses(403, 409),
)
async def delete_comment(
    card_id: uuid.UUID, comment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    await service.delete(session, access, card_id, comment_id)
    return Response(status_code=204)
