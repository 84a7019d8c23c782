"""``WS /api/cards/:id/terminal``: replay the stored history, then live lines, in order, with no gap and no
duplicate at the seam; ``after=<run>:<seq>,…`` resumes exactly where a client left off.

Frames: ``line`` (one line: run_id, seq, at, stream, text), ``lines`` (consecutive lines of one run:
run_id and a list of {seq, at, stream, text}), ``status`` (a run's state), ``ping``. Every frame stays under
``frames.MAX_FRAME_BYTES`` (what the gateway relays): big batches come as several frames, and a line too long for
one frame is cut with a marker.

A live client never stalls on a missing line: a gap still open after ``GAP_SECONDS`` is filled from the store
(checked again with backoff while it stays open), and when the instance's listener reconnects every terminal
catches up from its last seq in the same way (board clients get ``{"type": "resync"}`` and refetch).

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
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from agentworks_platform.app import ServiceContext, allow_callers, context_of
from agentworks_platform.bounds import within_bigint
from agentworks_platform.logging import get_logger
from agentworks_platform.principal import CLIENT_IP, KEY_WORKSPACE, USER_EMAIL, USER_ID
from fastapi import APIRouter, Depends, WebSocket
from starlette.websockets import WebSocketDisconnect

from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal import store
from agentworks_log_stream.terminal.fanout import batch_frames
from agentworks_log_stream.terminal.frames import ENVELOPE_BYTES, LINE_FIELDS, MAX_FRAME_BYTES, fit_line
from agentworks_log_stream.terminal.handlers import status_message
from agentworks_log_stream.terminal.hub import Frame, Subscriber

router = APIRouter(tags=["terminal"])
FROM_GATEWAY = [Depends(allow_callers("gateway"))]
HEARTBEAT_SECONDS = 15.0
GAP_SECONDS = 1.0  # how long a missing line may hold later ones back before the store is asked
GAP_BACKOFF_MAX = 30.0
REPLAY_PAGE = 1000
COALESCE_MAX = 64  # queued frames joined into one send
TOO_SLOW = 4008
NORMAL_CLOSES = frozenset({1000, 1001})
ABNORMAL_CLOSE = 1006
log = get_logger(__name__)
CatchUp = Callable[[], Awaitable[None]]


def record_close(channel: str, code: int) -> None:
    """Log every ended socket; abnormal ends (dropped connections, slow clients cut) feed the disconnect alert."""
    log.info("websocket.closed", channel=channel, code=code, abnormal=code not in NORMAL_CLOSES)


class Ordered:
    """Releases each run's lines strictly in seq order, each once, holding back any that arrive early."""

    def __init__(self, after: dict[uuid.UUID, int], clock: Callable[[], float] = time.monotonic) -> None:
        self.sent = defaultdict(int, after)
        self._held: dict[uuid.UUID, dict[int, Any]] = defaultdict(dict)
        self._clock = clock
        self._gap_due: float | None = None  # when to ask the store for a missing line
        self._gap_wait = GAP_SECONDS

    def holding(self) -> bool:
        return any(self._held.values())

    def gap_due(self) -> bool:
        """True when lines have waited for a missing one long enough to fetch it (then waits longer next time)."""
        if self._gap_due is None or self._clock() < self._gap_due:
            return False
        self._gap_wait = min(self._gap_wait * 2, GAP_BACKOFF_MAX)
        self._gap_due = self._clock() + self._gap_wait
        return True

    def seconds_to_gap(self) -> float | None:
        return None if self._gap_due is None else max(0.0, self._gap_due - self._clock())

    def _track_gap(self) -> None:
        if not self.holding():
            self._gap_due, self._gap_wait = None, GAP_SECONDS
        elif self._gap_due is None:
            self._gap_due = self._clock() + GAP_SECONDS

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
        self._track_gap()
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
    core = log_stream_state(ctx).core
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
    ctx = context_of(websocket)
    try:
        cursor = parse_after(after)
    except ValueError:
        await websocket.close(4400, "after must be <run>:<seq>,…")
        return
    if not await authorised(websocket, ctx, f"/internal/cards/{card_id}"):
        return
    await websocket.accept()
    hub = log_stream_state(ctx).hub
    subscriber = hub.subscribe(card_id)
    ordered = Ordered(cursor)
    code = 1000
    catch_up = functools.partial(_replay, websocket, ctx, card_id, run_id, ordered)
    try:
        await catch_up()
        code = await live(websocket, subscriber, run_id, ordered, catch_up)
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
            records = await log_stream_state(ctx).archiver.lines(run, ordered.sent[run.run_id], REPLAY_PAGE)
            ready = [m for r in records for m in ordered.offer({"type": "line", "run_id": str(run.run_id), **r})]
            for frame in batch_frames(run.run_id, [_as_line(item) for item in ready]):  # a page: few frames
                await websocket.send_json(frame)
            if len(records) < REPLAY_PAGE:
                break
        await websocket.send_json(status_message(run))


def _as_line(item: Any) -> dict[str, Any]:
    return item.message if isinstance(item, Frame) else item


async def live(
    websocket: WebSocket,
    subscriber: Subscriber,
    run_id: uuid.UUID | None,
    ordered: Ordered | None,
    catch_up: CatchUp | None = None,
) -> int:
    """Forward the subscriber's frames (lines in order when ``ordered``) with heartbeats until cut.

    Returns the close code when the client was cut for being too slow (a disconnect raises instead).

    Frames already queued are taken in one go and consecutive batches of a run joined into one send; only
    an empty queue costs a wait (with its heartbeat). ``catch_up`` sends what the store has after the client's
    cursor: it runs when a gap stays open too long and on a ``resync`` (else forwarded to the client)."""
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
            if catch_up is not None and ordered is not None and ordered.gap_due():
                await catch_up()
                continue
            if not subscriber.frames:
                gap = ordered.seconds_to_gap() if catch_up is not None and ordered is not None else None
                quiet = HEARTBEAT_SECONDS if gap is None else min(gap, HEARTBEAT_SECONDS)
                if not await subscriber.wait(quiet) and quiet >= HEARTBEAT_SECONDS:
                    await websocket.send_json({"type": "ping"})
                continue
            ready: list[Any] = []
            resync = False
            for frame in subscriber.take(COALESCE_MAX):
                message = frame.message
                if message.get("type") == "resync" and catch_up is not None:
                    resync = True
                elif wanted is None or message.get("run_id") == wanted:
                    ready.extend(_releasable(ordered, message, frame))
            for text in _joined(ready):
                await websocket.send_text(text)
            if resync and catch_up is not None:
                await catch_up()
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
    """Texts to send: consecutive whole ``lines`` frames of one run become one frame (under the frame limit);
    others go as they are (lines held back during the replay are plain messages, live ones come encoded)."""
    texts: list[str] = []
    run, parts, size = "", list[str](), 0
    for item in ready:
        if isinstance(item, Frame) and item.lines_text is not None:
            joined_size = size + len(item.lines_text) + 2
            if parts and (item.message["run_id"] != run or joined_size > MAX_FRAME_BYTES - ENVELOPE_BYTES):
                texts.append(_lines_text(run, parts))
                parts, size = [], 0
            run = item.message["run_id"]
            parts.append(item.lines_text)
            size += len(item.lines_text) + 2
            continue
        if parts:
            texts.append(_lines_text(run, parts))
            parts = []
        texts.append(item.text if isinstance(item, Frame) else json.dumps(_fitted(item)))
    if parts:
        texts.append(_lines_text(run, parts))
    return texts


def _fitted(message: dict[str, Any]) -> dict[str, Any]:
    """A line held back during a catch-up from the store comes as it was stored: cut to a frame like any other."""
    if message.get("type") != "line":
        return message
    return {**message, **fit_line({k: message[k] for k in LINE_FIELDS})}


def _lines_text(run: str, parts: list[str]) -> str:
    return f'{{"type": "lines", "run_id": "{run}", "lines": [{", ".join(parts)}]}}'


def _releasable(ordered: Ordered | None, message: dict[str, Any], frame: Frame) -> list[Any]:
    """What a frame lets the client have now: the frame itself, or (to keep order) some of its lines."""
    if ordered is None or message["type"] not in ("line", "lines"):
        return [frame]
    if message["type"] == "line":
        return ordered.offer(message, frame)
    return [frame] if ordered.contiguous(message) else ordered.offer_batch(message)
