"""Live boards: ``WS /api/boards/:id/events`` relays card changes and run status to every open board, and to each
socket its own person's notifications of the board's workspace (``{"type": "notification", …}``); the card events
reach it through ``handlers.py``."""

from __future__ import annotations

import uuid

from agentworks_internal_api.core import BOARD_OWNER
from agentworks_platform.app import context_of
from agentworks_platform.principal import USER_ID
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal.endpoints import FROM_GATEWAY, authorised, live, record_close
from agentworks_log_stream.terminal.handlers import person_topic

router = APIRouter(tags=["boards"])


@router.websocket("/api/boards/{board_id}/events", dependencies=FROM_GATEWAY)
async def board_events(websocket: WebSocket, board_id: uuid.UUID) -> None:
    ctx = context_of(websocket)
    owner = await authorised(websocket, ctx, BOARD_OWNER, board_id)
    if owner is None:
        return
    hub = log_stream_state(ctx).hub
    # Subscribed before the socket is accepted: once a client is connected, nothing sent to it is missed.
    subscriber = hub.subscribe(board_id)
    inbox = person_topic(owner.workspace_id, uuid.UUID(websocket.headers[USER_ID]))
    hub.attach(inbox, subscriber)
    code = 1000
    try:
        await websocket.accept()
        code = await live(websocket, subscriber, None, None)
    except WebSocketDisconnect as exc:
        code = exc.code
    finally:
        hub.unsubscribe(board_id, subscriber)
        hub.unsubscribe(inbox, subscriber)
        record_close("board", code)
