"""``WS /api/cards/:id/terminal``: replay the stored history, then live lines, in order, with no gap and no
duplicate at the seam; ``after=<run>:<seq>,…`` resumes exactly where a client left off.

Frames: ``line`` (one line: run_id, seq, at, stream, text), ``lines`` (consecutive lines of one run:
run_id and a list of {seq, at, stream, text}), ``status`` (a run's state), ``ping``.

Close codes: 4401 not authenticated, 4403 a service other than the gateway, 4404 no such card (or not yours),
4400 bad cursor, 4008 too slow (reconnect with ``after``). Heartbeats are ``{"type": "ping"}`` frames. Frames
are not compressed (``permessage-deflate`` is declined): one run's lines go to many sockets, and compressing
them per socket would cost more than it saves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import uuid
from collections import defaultdict
from typing import Any

import httpx
from agentworks_platform.app import ServiceContext, allow_callers
from agentworks_platform.bounds import within_bigint
from agentworks_platform.logging import get_logger
from agentworks_platform.principal import CLIENT_IP, KEY_WORKSPACE, USER_EMAIL, USER_ID
from fastapi import APIRouter, Depends, WebSocket
from starlette.websockets import WebSocketDisconnect

from agentworks_log_stream.terminal import store
from agentworks_log_stream.terminal.fanout import batch_message
from agentworks_log_stream.terminal.hub import Frame, Hub, Subscriber
from agentworks_log_stream.terminal.projection import status_message

router = APIRouter(tags=["terminal"])
FROM_GATEWAY = [Depends(allow_callers("gateway"))]
HEARTBEAT_SECONDS = 15.0
REPLAY_PAGE = 1000
COALESCE_MAX = 64  # queued frames joined into one send
TOO_SLOW = 4008
NORMAL_CLOSES = frozenset({1000, 1001})
ABNORMAL_CLOSE = 1006
log = get_logger(__name__)


def record_close(channel: str, code: int) -> None:
    """Log every ended socket; abnormal ends (dropped connections, slow clients cut) feed the disconnect alert."""
    log.info("websocket.closed", channel=channel, code=code, abnormal=code not in NORMAL_CLOSES)


class Ordered:
    """Releases each run's lines strictly in seq order, each once, holding back any that arrive early."""

    def __init__(self, after: dict[uuid.UUID, int]) -> None:
        self.sent = defaultdict(int, after)
        self._held: dict[uuid.UUID, dict[int, Any]] = defaultdict(dict)

    def contiguous(self, message: dict[str, Any]) -> bool:
        """True when a ``lines`` frame continues its run exactly (it can then be sent as it is)."""
        run_id, lines = _run_uuid(message["run_id"]), message["lines"]
        first, last = int(lines[0]["seq"]), int(lines[-1]["seq"])
        if first != self.sent[run_id] + 1 or last - first + 1 != len(lines) or self._held[run_id]:
            return False
        self.sent[run_id] = last
        return True

    def offer_batch(self, message: dict[str, Any]) -> list[Any]:
        """The lines of a ``lines`` frame, offered one by one (when it overlaps or skips ahead)."""
        ready: list[Any] = []
        for line in message["lines"]:
            ready.extend(self.offer({"type": "line", "run_id": message["run_id"], **line}))
        return ready

    def offer(self, message: dict[str, Any], item: Any = None) -> list[Any]:
        """Offer a line; returns what may be sent now (``item`` stands for the message when given)."""
        run_id, seq = _run_uuid(message["run_id"]), int(message["seq"])
        if seq <= self.sent[run_id]:
            return []
        held = self._held[run_id]
        held[seq] = message if item is None else item
        ready = []
        while self.sent[run_id] + 1 in held:
            self.sent[run_id] += 1
            ready.append(held.pop(self.sent[run_id]))
        return ready


@functools.lru_cache(maxsize=4096)
def _run_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def parse_after(value: str | None) -> dict[uuid.UUID, int]:
    cursor: dict[uuid.UUID, int] = {}
    for part in filter(None, (value or "").split(",")):
        run, _, seq = part.partition(":")
        cursor[uuid.UUID(run)] = within_bigint(int(seq))
    return cursor


async def authorised(websocket: WebSocket, ctx: ServiceContext, owner_path: str) -> bool:
    """Check that the principal the gateway vouches for belongs to the workspace owning the resource (the route's
    ``FROM_GATEWAY`` dependency has verified the gateway's token)."""
    headers = websocket.headers
    user, email = headers.get(USER_ID), headers.get(USER_EMAIL)
    core = ctx.extras["core"]
    try:
        owner = await core.request("GET", owner_path)
        if owner.status_code != 200:
            await websocket.close(4404, "no such card or board")
            return False
        workspace = owner.json()["workspace_id"]
        member = await core.request("GET", f"/internal/workspaces/{workspace}/members/{user}")
    except httpx.HTTPError:
        await websocket.close(1013, "try again later")
        return False
    key_workspace = headers.get(KEY_WORKSPACE)
    if not email or member.status_code != 200 or key_workspace not in (None, workspace):
        await websocket.close(4404, "no such card or board")
        return False
    websocket.scope.setdefault("state", {})["client_ip"] = headers.get(CLIENT_IP, "")
    return True


@router.websocket("/api/cards/{card_id}/terminal", dependencies=FROM_GATEWAY)
async def terminal(
    websocket: WebSocket, card_id: uuid.UUID, run_id: uuid.UUID | None = None, after: str | None = None
) -> None:
    ctx: ServiceContext = websocket.app.state.ctx
    try:
        cursor = parse_after(after)
    except ValueError:
        await websocket.close(4400, "after must be <run>:<seq>,…")
        return
    if not await authorised(websocket, ctx, f"/internal/cards/{card_id}"):
        return
    await websocket.accept()
    hub: Hub = ctx.extras["hub"]
    subscriber = hub.subscribe(card_id)
    ordered = Ordered(cursor)
    code = 1000
    try:
        await _replay(websocket, ctx, card_id, run_id, ordered)
        code = await live(websocket, subscriber, run_id, ordered)
    except WebSocketDisconnect as exc:
        code = exc.code
    finally:
        hub.unsubscribe(card_id, subscriber)
        record_close("terminal", code)


async def _replay(
    websocket: WebSocket, ctx: ServiceContext, card_id: uuid.UUID, run_id: uuid.UUID | None, ordered: Ordered
) -> None:
    async with ctx.db.transaction() as session:
        runs = await store.runs_of_card(session, card_id, run_id)
    for run in runs:
        while True:
            records = await ctx.extras["archiver"].lines(run, ordered.sent[run.run_id], REPLAY_PAGE)
            ready = [m for r in records for m in ordered.offer({"type": "line", "run_id": str(run.run_id), **r})]
            if ready:  # a page of history is one frame
                await websocket.send_json(batch_message(run.run_id, ready))
            if len(records) < REPLAY_PAGE:
                break
        await websocket.send_json(status_message(run))


async def live(websocket: WebSocket, subscriber: Subscriber, run_id: uuid.UUID | None, ordered: Ordered | None) -> int:
    """Forward the subscriber's frames (lines in order when ``ordered``) with heartbeats until cut.

    Returns the close code when the client was cut for being too slow (a disconnect raises instead).

    Frames already queued are taken in one go and consecutive batches of a run joined into one send; only
    an empty queue costs a wait (with its heartbeat)."""
    wanted = str(run_id) if run_id is not None else None
    watcher = asyncio.ensure_future(_watch_departure(websocket, subscriber))
    try:
        while True:
            if subscriber.overflowed:
                resume = ",".join(f"{run}:{seq}" for run, seq in ordered.sent.items()) if ordered else ""
                await websocket.close(TOO_SLOW, f"too slow; reconnect with after={resume}"[:120])
                return TOO_SLOW
            if subscriber.gone is not None:
                raise WebSocketDisconnect(subscriber.gone)
            if not subscriber.frames:
                if not await subscriber.wait(HEARTBEAT_SECONDS):
                    await websocket.send_json({"type": "ping"})
                continue
            ready: list[Any] = []
            for frame in subscriber.take(COALESCE_MAX):
                message = frame.message
                if wanted is None or message.get("run_id") == wanted:
                    ready.extend(_releasable(ordered, message, frame))
            for text in _joined(ready):
                await websocket.send_text(text)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _watch_departure(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Tells the subscriber the moment its client disconnects (or the server shuts down); anything the client
    sends meanwhile is ignored. Without it a quiet socket would be noticed only at the next heartbeat."""
    code = ABNORMAL_CLOSE
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                code = int(message.get("code") or 1000)
                return
    except (WebSocketDisconnect, RuntimeError):
        return  # the socket is already closed: the sender finds out on its own
    finally:
        subscriber.leave(code)


def _joined(ready: list[Any]) -> list[str]:
    """Texts to send: consecutive whole ``lines`` frames of one run become one frame; others go as they are
    (lines held back during the replay are plain messages, live ones come encoded)."""
    texts: list[str] = []
    run, parts = "", list[str]()
    for item in ready:
        if isinstance(item, Frame) and item.lines_text is not None:
            if parts and item.message["run_id"] != run:
                texts.append(_lines_text(run, parts))
                parts = []
            run = item.message["run_id"]
            parts.append(item.lines_text)
            continue
        if parts:
            texts.append(_lines_text(run, parts))
            parts = []
        texts.append(item.text if isinstance(item, Frame) else json.dumps(item))
    if parts:
        texts.append(_lines_text(run, parts))
    return texts


def _lines_text(run: str, parts: list[str]) -> str:
    return f'{{"type": "lines", "run_id": "{run}", "lines": [{", ".join(parts)}]}}'


def _releasable(ordered: Ordered | None, message: dict[str, Any], frame: Frame) -> list[Any]:
    """What a frame lets the client have now: the frame itself, or (to keep order) some of its lines."""
    if ordered is None or message["type"] not in ("line", "lines"):
        return [frame]
    if message["type"] == "line":
        return ordered.offer(message, frame)
    return [frame] if ordered.contiguous(message) else ordered.offer_batch(message)
