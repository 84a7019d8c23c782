"""A card's comments: list them, add one as a person."""

from __future__ import annotations

import uuid

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from fastapi import APIRouter

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.comments import service
from agentworks_core.comments.schemas import CommentIn, CommentOut

router = APIRouter(prefix="/api/cards/{card_id}/comments", tags=["comments"], responses=error_responses(404))


@router.get("", summary="A card's comments, by people and agents, oldest first")
async def list_comments(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[CommentOut]:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.comments(session, card_id)


@router.post("", status_code=201, summary="Comment on a card")
async def add_comment(card_id: uuid.UUID, body: CommentIn, session: SessionDep, principal: PrincipalDep) -> CommentOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    return await service.add(session, access, card_id, body)
