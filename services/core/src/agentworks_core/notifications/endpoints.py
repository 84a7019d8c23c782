"""A person's inbox in a workspace (list, unread count, mark one or all as read) and watching a card."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Query

from agentworks_core.access import PrincipalDep, authorize, authorize_resource
from agentworks_core.notifications import service
from agentworks_core.notifications.schemas import InboxOut, NotificationOut, UnreadOut, WatchOut

router = APIRouter(prefix="/api", tags=["notifications"], responses=error_responses(404))
INBOX = "/workspaces/{workspace_id}/notifications"


@router.get(INBOX, summary="Your notifications in the workspace, newest first, with the unread count")
async def inbox(
    workspace_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    unread_only: bool = False,
) -> InboxOut:
    access = await authorize(session, principal, workspace_id, "read")
    return await service.inbox(session, access, limit, unread_only)


@router.get(INBOX + "/unread", summary="How many of your notifications in the workspace are unread")
async def unread(workspace_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> UnreadOut:
    access = await authorize(session, principal, workspace_id, "read")
    return await service.unread(session, access)


@router.post(INBOX + "/read", summary="Mark all your notifications in the workspace as read")
async def mark_all_read(workspace_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> UnreadOut:
    access = await authorize(session, principal, workspace_id, "read")
    return await service.mark_all_read(session, access)


@router.post(INBOX + "/{notification_id}/read", summary="Mark one of your notifications as read")
async def mark_read(
    workspace_id: uuid.UUID, notification_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> NotificationOut:
    access = await authorize(session, principal, workspace_id, "read")
    return await service.mark_read(session, access, notification_id)


@router.get("/cards/{card_id}/watch", summary="Whether you are notified of the card's runs, and why")
async def watch_state(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> WatchOut:
    access = await authorize_resource(session, principal, "card", card_id, "read")
    return await service.watch_state(session, access, card_id)


@router.put("/cards/{card_id}/watch", summary="Watch a card: be notified of its runs and approvals")
async def watch(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> WatchOut:
    access = await authorize_resource(session, principal, "card", card_id, "read")
    return await service.set_watching(session, access, card_id, True)


@router.delete("/cards/{card_id}/watch", summary="Stop being notified of a card's runs, even one you created")
async def unwatch(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> WatchOut:
    access = await authorize_resource(session, principal, "card", card_id, "read")
    return await service.set_watching(session, access, card_id, False)
