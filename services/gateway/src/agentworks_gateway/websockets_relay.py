"""WebSocket entry: the browser's terminal connects here (same origin, cookie or API key); the gateway checks
the Origin against its allowlist, authenticates, and relays frames to log-stream with its service token."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from agentworks_platform.app import context_of
from agentworks_platform.errors import Unauthenticated
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.security import ApiGuard, Caller, client_ip
from agentworks_gateway.state import gateway_state

router = APIRouter()
MAX_MESSAGE_BYTES = 64 * 1024


async def _caller(websocket: WebSocket) -> Caller | None:
    ctx = context_of(websocket)
    settings: GatewaySettings = ctx.settings  # type: ignore[assignment]
    peer = websocket.client.host if websocket.client else ""
    ip = client_ip(websocket.headers, peer, settings.trusted_proxy_hops)
    try:
        return await ApiGuard.resolve(ctx.db, settings, websocket.headers, ip, uuid.uuid4().hex)
    except Unauthenticated:
        return None


@router.websocket("/api/cards/{card_id}/terminal")
async def terminal(websocket: WebSocket, card_id: uuid.UUID) -> None:
    await _open(websocket, f"/api/cards/{card_id}/terminal")


@router.websocket("/api/boards/{board_id}/events")
async def board_events(websocket: WebSocket, board_id: uuid.UUID) -> None:
    await _open(websocket, f"/api/boards/{board_id}/events")


async def _open(websocket: WebSocket, path: str) -> None:
    ctx = context_of(websocket)
    settings: GatewaySettings = ctx.settings  # type: ignore[assignment]
    origin = (websocket.headers.get("origin") or "").rstrip("/")
    if origin and origin not in settings.allowed_origins:
        await websocket.close(4403, "origin not allowed")
        return
    caller = await _caller(websocket)
    if caller is None:
        await websocket.close(4401, "sign in first")
        return
    target = settings.log_stream_url.rstrip("/").replace("http", "ws", 1) + path
    if websocket.url.query:
        target += f"?{websocket.url.query}"
    token = await ctx.tokens.token_for(settings.log_stream_url.rstrip("/"))
    headers = {"authorization": f"Bearer {token}", **caller.principal.headers()}
    try:
        upstream = await connect(target, additional_headers=headers, max_size=MAX_MESSAGE_BYTES * 2, open_timeout=10)
    except (OSError, InvalidStatus, TimeoutError):
        await websocket.close(1013, "terminals are unavailable; try again")
        return
    await websocket.accept()
    watch = gateway_state(ctx).credential_watch
    with watch.watching(caller) as revoked:
        await _relay(websocket, upstream, revoked)


async def _relay(websocket: WebSocket, upstream: ClientConnection, revoked: asyncio.Event) -> None:
    async def until_revoked() -> None:
        await revoked.wait()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(4401, "credentials revoked; sign in again")

    async def down() -> None:
        try:
            async for message in upstream:
                await websocket.send_text(message if isinstance(message, str) else message.decode())
        except ConnectionClosed:
            pass
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(upstream.close_code or 1000, upstream.close_reason or "")

    async def up() -> None:
        try:
            while True:
                message = await websocket.receive_text()
                if len(message) > MAX_MESSAGE_BYTES:
                    await websocket.close(1009, "messages are limited to 64 KB")
                    return
                await upstream.send(message)
        except (WebSocketDisconnect, RuntimeError):
            return

    tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up()), asyncio.ensure_future(until_revoked())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await upstream.close()
