"""``WS /api/cards/:id/terminal``: replay the stored history, then live lines and transcript steps, in order,
with no gap and no duplicate at the seam; ``after=<run>:<seq>,…`` (lines) and ``steps=<run>:<step>,…``
(transcript steps) resume exactly where a client left off.

Frames: ``line`` (one line: run_id, seq, at, stream, text), ``lines`` (consecutive lines of one run:
run_id and a list of {seq, at, stream, text}), ``step`` (a part of a tool-using run's step, with its run and
agent: see ``transcript``), ``status`` (a run's state, with the reason when it was skipped), ``ping``. A run's
lines and its steps are two streams, each in order by its own number. Every frame stays under
``frames.MAX_FRAME_BYTES`` (what the gateway relays): big batches come as several frames, a step as several
parts, and a line too long for one frame is cut with a marker.

A live client never stalls on a missing line: a gap (lines held back behind a missing one, or a run whose status
names a last seq not sent yet) still open after ``GAP_SECONDS`` is filled from the store (checked again with
backoff while it stays open), and when the instance's listener reconnects every terminal
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

from agentworks_internal_api import Lookup, PeerUnavailableError
from agentworks_internal_api.core import CARD_OWNER, BoardOwnerOut, CardOwnerOut, member_role
from agentworks_platform.app import ServiceContext, allow_callers, context_of
from agentworks_platform.bounds import within_bigint
from agentworks_platform.logging import get_logger
from agentworks_platform.principal import CLIENT_IP, KEY_WORKSPACE, USER_EMAIL, USER_ID
from fastapi import APIRouter, Depends, WebSocket
from starlette.websockets import WebSocketDisconnect

from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal import service
from agentworks_log_stream.terminal.fanout import batch_frames
from agentworks_log_stream.terminal.frames import ENVELOPE_BYTES, LINE_FIELDS, MAX_FRAME_BYTES, fit_line
from agentworks_log_stream.terminal.handlers import status_message
from agentworks_log_stream.terminal.hub import Frame, Subscriber
from agentworks_log_stream.terminal.transcript import step_frames, step_message

router = APIRouter(tags=["terminal"])
FROM_GATEWAY = [Depends(allow_callers("gateway"))]
HEARTBEAT_SECONDS = 15.0
GAP_SECONDS = 1.0  # how long a missing line may hold later ones back before the store is asked
GAP_BACKOFF_MAX = 30.0
REPLAY_PAGE = 1000
STEP_PAGE = 50
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
    """Releases each run's lines strictly in seq order, each once, holding back any that arrive early; a gap is
    open while lines are held back or while a run is known to have lines past the last one sent."""

    def __init__(self, after: dict[uuid.UUID, int], clock: Callable[[], float] = time.monotonic) -> None:
        self.sent = defaultdict(int, after)
        self._held: dict[uuid.UUID, dict[int, Any]] = defaultdict(dict)
        self._expected: dict[uuid.UUID, int] = {}  # a run's last seq, once its status says so
        self._clock = clock
        self._gap_due: float | None = None  # when to ask the store for a missing line
        self._gap_wait = GAP_SECONDS

    def holding(self) -> bool:
        return any(self._held.values()) or any(last > self.sent[run] for run, last in self._expected.items())

    def expect(self, run_id: uuid.UUID, last_seq: int | None) -> None:
        """The run's lines end at ``last_seq``: those not sent yet are a gap even if no later line ever comes
        (the notification of a run's last lines can be lost)."""
        if last_seq is not None:
            self._expected[run_id] = last_seq
            self._track_gap()

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


async def authorised(
    websocket: WebSocket,
    ctx: ServiceContext,
    owner_of: Lookup[CardOwnerOut] | Lookup[BoardOwnerOut],
    resource_id: uuid.UUID,
) -> CardOwnerOut | BoardOwnerOut | None:
    """Check that the principal the gateway vouches for belongs to the workspace owning the resource (the route's
    ``FROM_GATEWAY`` dependency has verified the gateway's token); the resource's owner, None when refused (the
    socket is then closed)."""
    headers = websocket.headers
    user, email = headers.get(USER_ID), headers.get(USER_EMAIL)
    core = log_stream_state(ctx).core
    try:
        owner = await owner_of.ask(core, resource_id)
        role = None if owner is None or not user else await member_role(core, owner.workspace_id, user)
    except PeerUnavailableError:
        await websocket.close(1013, "try again later")
        return None
    key_workspace = headers.get(KEY_WORKSPACE)
    if owner is None or role is None or not email or key_workspace not in (None, str(owner.workspace_id)):
        await websocket.close(4404, "no such card or board")
        return None
    websocket.scope.setdefault("state", {})["client_ip"] = headers.get(CLIENT_IP, "")
    return owner


class Cursors:
    """Where a terminal is in each run's two streams: lines by seq, transcript steps by step number."""

    def __init__(self, lines: Ordered, steps: Ordered) -> None:
        self.lines = lines
        self.steps = steps

    def gap_due(self) -> bool:
        return self.lines.gap_due() or self.steps.gap_due()

    def seconds_to_gap(self) -> float | None:
        waits = [w for w in (self.lines.seconds_to_gap(), self.steps.seconds_to_gap()) if w is not None]
        return min(waits) if waits else None


@router.websocket("/api/cards/{card_id}/terminal", dependencies=FROM_GATEWAY)
async def terminal(
    websocket: WebSocket,
    card_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
    after: str | None = None,
    steps: str | None = None,
) -> None:
    ctx = context_of(websocket)
    try:
        cursor, step_cursor = parse_after(after), parse_after(steps)
    except ValueError:
        await websocket.close(4400, "after and steps must be <run>:<number>,…")
        return
    if not await authorised(websocket, ctx, CARD_OWNER, card_id):
        return
    await websocket.accept()
    hub = log_stream_state(ctx).hub
    subscriber = hub.subscribe(card_id)
    cursors = Cursors(Ordered(cursor), Ordered(step_cursor))
    code = 1000
    catch_up = functools.partial(_replay, websocket, ctx, card_id, run_id, cursors)
    try:
        await catch_up()
        code = await live(websocket, subscriber, run_id, cursors, catch_up)
    except WebSocketDisconnect as exc:
        code = exc.code
    finally:
        hub.unsubscribe(card_id, subscriber)
        record_close("terminal", code)


async def _replay(
    websocket: WebSocket, ctx: ServiceContext, card_id: uuid.UUID, run_id: uuid.UUID | None, cursors: Cursors
) -> None:
    async with ctx.db.transaction() as session:
        runs = await service.runs_of_card(session, card_id, run_id)
    for run in runs:
        ordered = cursors.lines
        after = ordered.sent[run.run_id]
        while True:
            records = await log_stream_state(ctx).archiver.lines(run, after, REPLAY_PAGE)
            ready = [m for r in records for m in ordered.offer({"type": "line", "run_id": str(run.run_id), **r})]
            for frame in batch_frames(run.run_id, [_as_line(item) for item in ready]):  # a page: few frames
                await websocket.send_json(frame)
            if len(records) < REPLAY_PAGE:
                break
            after = records[-1]["seq"]  # past what was read, not what was sent: a hole holds lines back
        await _replay_steps(websocket, ctx, run.run_id, cursors.steps)
        ordered.expect(run.run_id, run.last_seq)
        await websocket.send_json(status_message(run))


async def _replay_steps(websocket: WebSocket, ctx: ServiceContext, run_id: uuid.UUID, ordered: Ordered) -> None:
    """The run's stored steps after the client's cursor (and any held back live that now follow), as frames."""
    after = ordered.sent[run_id]
    while True:
        async with ctx.db.transaction() as session:
            rows = await service.steps_after(session, run_id, after, STEP_PAGE)
        for row in rows:
            for message in _offer_step(ordered, step_message(row)):
                for frame in step_frames(_as_line(message)):
                    await websocket.send_json(frame)
        if len(rows) < STEP_PAGE:
            return
        after = rows[-1].step  # past what was read: steps held behind a missing one are not read again


def _offer_step(ordered: Ordered, message: dict[str, Any], item: Any = None) -> list[Any]:
    return ordered.offer({"run_id": message["run_id"], "seq": message["step"]}, message if item is None else item)


def _as_line(item: Any) -> dict[str, Any]:
    return item.message if isinstance(item, Frame) else item


async def live(
    websocket: WebSocket,
    subscriber: Subscriber,
    run_id: uuid.UUID | None,
    ordered: Ordered | Cursors | None,
    catch_up: CatchUp | None = None,
) -> int:
    """Forward the subscriber's frames (lines, and steps with ``Cursors``, in order when ``ordered``) with
    heartbeats until cut.

    Returns the close code when the client was cut for being too slow (a disconnect raises instead).

    Frames already queued are taken in one go and consecutive batches of a run joined into one send; only
    an empty queue costs a wait (with its heartbeat). ``catch_up`` sends what the store has after the client's
    cursor: it runs when a gap stays open too long and on a ``resync`` (else forwarded to the client)."""
    wanted = str(run_id) if run_id is not None else None
    cursors = ordered if isinstance(ordered, Cursors) else None
    lines = cursors.lines if cursors is not None else ordered if isinstance(ordered, Ordered) else None
    gaps: Ordered | Cursors | None = cursors or lines
    watcher = asyncio.ensure_future(_watch_departure(websocket, subscriber))
    try:
        while True:
            if subscriber.overflowed:
                resume = ",".join(f"{run}:{seq}" for run, seq in lines.sent.items()) if lines else ""
                await websocket.close(TOO_SLOW, f"too slow; reconnect with after={resume}"[:120])
                return TOO_SLOW
            if subscriber.gone is not None:
                raise WebSocketDisconnect(subscriber.gone)
            if catch_up is not None and gaps is not None and gaps.gap_due():
                await catch_up()
                continue
            if not subscriber.frames:
                gap = gaps.seconds_to_gap() if catch_up is not None and gaps is not None else None
                quiet = HEARTBEAT_SECONDS if gap is None else min(gap, HEARTBEAT_SECONDS)
                if not await subscriber.wait(quiet) and quiet >= HEARTBEAT_SECONDS:
                    await websocket.send_json({"type": "ping"})
                continue
            ready, resync = _take(subscriber, wanted, lines, cursors, resyncs=catch_up is not None)
            for text in _joined(ready):
                await websocket.send_text(text)
            if resync and catch_up is not None:
                await catch_up()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def _take(
    subscriber: Subscriber, wanted: str | None, ordered: Ordered | None, cursors: Cursors | None, *, resyncs: bool
) -> tuple[list[Any], bool]:
    """What the queued frames let the client have now, and whether one of them asked for a resync."""
    ready: list[Any] = []
    resync = False
    for frame in subscriber.take(COALESCE_MAX):
        message = frame.message
        if message.get("type") == "resync" and resyncs:
            resync = True
        elif wanted is None or message.get("run_id") == wanted:
            ready.extend(_releasable(ordered, message, frame, cursors))
    return ready, resync


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
        message = item.message if isinstance(item, Frame) else item
        if message.get("type") == "step":
            texts.extend(json.dumps(frame) for frame in step_frames(message))
        else:
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


def _releasable(
    ordered: Ordered | None, message: dict[str, Any], frame: Frame, cursors: Cursors | None = None
) -> list[Any]:
    """What a frame lets the client have now: the frame itself, or (to keep order) some of its lines or steps."""
    if message["type"] == "step":
        return _offer_step(cursors.steps, message, frame) if cursors is not None else []
    if ordered is not None and message["type"] == "status":
        ordered.expect(_run_uuid(message["run_id"]), message.get("last_seq"))
    if ordered is None or message["type"] not in ("line", "lines"):
        return [frame]
    if message["type"] == "line":
        return ordered.offer(message, frame)
    return [frame] if ordered.contiguous(message) else ordered.offer_batch(message)
