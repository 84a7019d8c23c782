"""Live boards: ``WS /api/boards/:id/events`` relays card changes and run status to every open board (the
card events reach it through ``handlers.py``)."""

from __future__ import annotations

import uuid

from agentworks_internal_api.core import BOARD_OWNER
from agentworks_platform.app import context_of
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal.endpoints import FROM_GATEWAY, authorised, live, record_close

router = APIRouter(tags=["boards"])


@router.websocket("/api/boards/{board_id}/events", dependencies=FROM_GATEWAY)
async def board_events(websocket: WebSocket, board_id: uuid.UUID) -> None:
    ctx = context_of(websocket)
    if not await authorised(websocket, ctx, BOARD_OWNER, board_id):
        return
    await websocket.accept()
    hub = log_stream_state(ctx).hub
    subscriber = hub.subscribe(board_id)
    code = 1000
    try:
        code = await live(websocket, subscriber, None, None)
    except WebSocketDisconnect as exc:
        code = exc.code
    finally:
        hub.unsubscribe(board_id, subscriber)
        record_close("board", code)
