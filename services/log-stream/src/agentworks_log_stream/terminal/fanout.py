"""Fan-out across log-stream instances: PostgreSQL LISTEN/NOTIFY when shared, in-process on SQLite.

A notification is sent inside the storing transaction, so PostgreSQL delivers it only if that commits, and
to every instance (the sender included). It carries bounded references only (a run and a seq range, a run and a
step, or the id of a stored board message), whatever the size of the batch or the event: listeners read the
content back and split it into frames the gateway relays (``frames``, ``transcript``). A notification that fails
is rolled back to its savepoint and logged; the data it announces is stored all the same (it is written before the
savepoint opens), and clients fetch it when they notice the gap.

The listener survives any error, and probes its connection when it has been quiet (a half-open connection never
errs by itself): it logs, reports itself unready, reconnects, and then tells every client of the instance to
resync (terminals read what they missed from the store; boards refetch), since notifications sent while it was
away are lost. See docs/decisions/0005-fan-out-through-notify-references.md.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
from agentworks_events import utc_text
from agentworks_platform.db import Database, after_commit
from agentworks_platform.logging import get_logger
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_log_stream.models import RunStepRow
from agentworks_log_stream.terminal import repository
from agentworks_log_stream.terminal.frames import RESYNC, fit_board_message, lines_frames
from agentworks_log_stream.terminal.hub import Hub
from agentworks_log_stream.terminal.transcript import step_message

CHANNEL = "aw_terminal"
PROBE = "SELECT 1 AS listening"
LISTENER_OPTIONS: dict[str, Any] = {"autocommit": True, "application_name": "log-stream-listener"}
READ_BACK_PAGE = 1000
log = get_logger(__name__)


class ListenerDisconnected(RuntimeError):
    """The instance is not listening for other instances' notifications (``/readyz`` answers 503)."""


def line_message(run_id: Any, seq: int, at: datetime, stream: str, text_: str) -> dict[str, Any]:
    return {"type": "line", "run_id": str(run_id), "seq": seq, "at": utc_text(at), "stream": stream, "text": text_}


def batch_frames(run_id: Any, lines: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Consecutive lines of one run as ``{"type": "lines", "run_id", "lines": [{seq, at, stream, text}]}`` frames,
    as few as the relay's limit allows (live output and history pages travel in these)."""
    return lines_frames(str(run_id), lines)


class Fanout:
    """Sends terminal and board messages to the clients of every instance, and listens for the others'."""

    def __init__(self, db: Database, hub: Hub, retry_seconds: float = 1.0, probe_seconds: float = 15.0) -> None:
        self.db = db
        self.hub = hub
        self.shared = db.is_postgres
        self.retry_seconds = retry_seconds
        self.probe_seconds = probe_seconds
        self.listening = False

    async def lines(
        self, session: AsyncSession, topic: uuid.UUID, run_id: uuid.UUID, messages: list[dict[str, Any]]
    ) -> None:
        if self.shared:
            seqs = [m["seq"] for m in messages]
            reference = {"topic": str(topic), "run_id": str(run_id), "first": min(seqs), "last": max(seqs)}
            await self._notify(session, reference)
        else:
            self._after_commit(session, topic, list(batch_frames(run_id, messages)))

    async def step(self, session: AsyncSession, topic: uuid.UUID, row: RunStepRow) -> None:
        """A transcript step to the card's terminals (the hub carries it whole; sockets split it into frames)."""
        if self.shared:
            await self._notify(session, {"topic": str(topic), "run_id": str(row.run_id), "step": row.step})
        else:
            self._after_commit(session, topic, [step_message(row)])

    async def message(self, session: AsyncSession, topic: uuid.UUID, message: dict[str, Any]) -> None:
        if self.shared:
            message_id = await repository.save_message(session, topic, json.dumps(message))
            await self._notify(session, {"topic": str(topic), "message_id": str(message_id)})
        else:
            self._after_commit(session, topic, [fit_board_message(message)])

    def _after_commit(self, session: AsyncSession, topic: uuid.UUID, messages: list[dict[str, Any]]) -> None:
        async def publish() -> None:
            for message in messages:
                self.hub.publish(topic, message)

        after_commit(session, publish)

    @staticmethod
    async def _notify(session: AsyncSession, payload: dict[str, Any]) -> None:
        """A failed notification must never undo what the transaction stores (the repository's savepoint).

        What the transaction holds is written first, outside the savepoint (opening one flushes it): a failure
        to store (a run another delivery created meanwhile) fails the delivery, which is retried, instead of
        being taken for a failed notification while it has rolled the whole transaction back."""
        await session.flush()
        try:
            await repository.notify(session, CHANNEL, json.dumps(payload))
        except DBAPIError as exc:
            log.warning("fanout.notify_failed", error=type(exc.orig).__name__, topic=payload["topic"])

    async def listen(self) -> None:
        """Deliver notifications to this instance's hub until cancelled, reconnecting after any failure."""
        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, **LISTENER_OPTIONS) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._connected()
                    while True:
                        async for notice in connection.notifies(timeout=self.probe_seconds):
                            await self._deliver(json.loads(notice.payload))
                        await self._probe(connection)
            except Exception as exc:  # whatever broke (connection, read-back, a bad payload), listen again
                self.listening = False
                log.warning("fanout.listener_reconnecting", error=type(exc).__name__, detail=str(exc)[:200])
                await asyncio.sleep(self.retry_seconds)

    async def _probe(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """A quiet connection may be dead without anyone resetting it: one that does not answer is given up."""
        await asyncio.wait_for(connection.execute(PROBE), self.probe_seconds)

    def _connected(self) -> None:
        """Notifications sent while nobody listened are lost: every client resyncs from the store."""
        self.listening = True
        log.info("fanout.listener_connected", clients=self.hub.total())
        self.hub.broadcast(RESYNC)

    async def ready(self) -> None:
        """Readiness check: an instance that does not listen would serve replays but no live lines."""
        if self.shared and not self.listening:
            raise ListenerDisconnected("not listening for other instances' lines")

    async def _deliver(self, payload: dict[str, Any]) -> None:
        topic = uuid.UUID(payload["topic"])
        if not self.hub.count(topic):
            return
        if "message_id" in payload:
            await self._deliver_message(topic, uuid.UUID(payload["message_id"]))
        elif "step" in payload:
            await self._deliver_step(topic, uuid.UUID(payload["run_id"]), int(payload["step"]))
        else:
            await self._deliver_lines(topic, uuid.UUID(payload["run_id"]), int(payload["first"]), int(payload["last"]))

    async def _deliver_message(self, topic: uuid.UUID, message_id: uuid.UUID) -> None:
        async with self.db.transaction() as session:
            body = await repository.message_body(session, message_id)
        if body is not None:
            self.hub.publish(topic, fit_board_message(json.loads(body)))

    async def _deliver_step(self, topic: uuid.UUID, run_id: uuid.UUID, step: int) -> None:
        async with self.db.transaction() as session:
            rows = await repository.steps_between(session, run_id, step, step, 1)
        for row in rows:
            self.hub.publish(topic, step_message(row))

    async def _deliver_lines(self, topic: uuid.UUID, run_id: uuid.UUID, first: int, last: int) -> None:
        while first <= last:
            async with self.db.transaction() as session:
                rows = await repository.lines_between(session, run_id, first, last, READ_BACK_PAGE)
            if not rows:
                return
            lines = [line_message(r.run_id, r.seq, r.at, r.stream, r.text) for r in rows]
            for frame in batch_frames(run_id, lines):
                self.hub.publish(topic, frame)
            first = rows[-1].seq + 1

    async def start(self) -> asyncio.Task[None] | None:
        if not self.shared:
            return None
        task = asyncio.create_task(self.listen(), name="log-stream-fanout")
        await asyncio.sleep(0)
        return task
