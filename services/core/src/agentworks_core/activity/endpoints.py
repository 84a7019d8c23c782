"""A card's activity timeline."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Query

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.activity import service
from agentworks_core.activity.schemas import ActivityPageOut
from agentworks_core.schemas import MAX_PAGE

router = APIRouter(prefix="/api", tags=["activity"], responses=error_responses(404))


@router.get(
    "/cards/{card_id}/activity",
    summary="A card's timeline, newest first: edits (what changed), moves, runs and their outcome, approvals, comments",
)
async def card_activity(
    card_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> ActivityPageOut:
    access = await authorize_resource(session, principal, "card", card_id, "read")
    return await service.page(session, access.workspace_id, card_id, cursor, limit)
