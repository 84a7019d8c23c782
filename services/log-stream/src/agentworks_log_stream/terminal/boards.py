"""Live boards: ``WS /api/boards/:id/events`` relays card changes and run status to every open board."""

from __future__ import annotations

import uuid
from typing import Any

from agentworks_platform.app import ServiceContext
from agentworks_pubsub import PushMessage
from fastapi import APIRouter, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketDisconnect

from agentworks_log_stream.models import CardBoard
from agentworks_log_stream.terminal.endpoints import FROM_GATEWAY, authorised, live, record_close
from agentworks_log_stream.terminal.fanout import Fanout

router = APIRouter(tags=["boards"])
BOARD_OF = {"card.created": "card", "card.updated": "card", "card.moved": None, "card.deleted": None}


def _board(event: Any) -> uuid.UUID:
    return event.card.board_id if BOARD_OF[event.type] == "card" else event.board_id  # type: ignore[no-any-return]


def handlers(fanout: Fanout) -> dict[str, dict[str, Any]]:
    async def on_card(session: AsyncSession, event: Any, _push: PushMessage) -> None:
        board_id = _board(event)
        row = await session.get(CardBoard, event.card_id)
        if row is None:
            session.add(CardBoard(card_id=event.card_id, board_id=board_id))
        else:
            row.board_id = board_id
        await fanout.message(session, board_id, {"type": "card", "event": event.model_dump(mode="json")})

    return {"log-stream-card-events": dict.fromkeys(BOARD_OF, on_card)}


@router.websocket("/api/boards/{board_id}/events", dependencies=FROM_GATEWAY)
async def board_events(websocket: WebSocket, board_id: uuid.UUID) -> None:
    ctx: ServiceContext = websocket.app.state.ctx
    if not await authorised(websocket, ctx, f"/internal/boards/{board_id}"):
        return
    await websocket.accept()
    hub = ctx.extras["hub"]
    subscriber = hub.subscribe(board_id)
    code = 1000
    try:
        code = await live(websocket, subscriber, None, None)
    except WebSocketDisconnect as exc:
        code = exc.code
    finally:
        hub.unsubscribe(board_id, subscriber)
        record_close("board", code)
