"""Transactional outbox: events are rows written with the change, published after commit, relayed if left."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta

from agentworks_events import Event, EventMessage, to_message, topic_of, utc_now
from agentworks_platform.db import Database, after_commit, insert_many_ignoring_conflicts, is_sqlite
from agentworks_platform.logging import get_logger
from agentworks_platform.telemetry import current_traceparent
from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_pubsub.loops import StoppableLoop
from agentworks_pubsub.publisher import MessageSink

log = get_logger(__name__)


class Outbox:
    """Adds events to the current transaction; once it commits, hands them to the relay to publish.

    The hand-over happens as the transaction's after-commit step, before anything else can run, so events
    of transactions committed one after another reach the publisher in that order. The caller then waits
    for Pub/Sub's answer, or with ``background`` does not: the request answers as soon as it has committed
    (the rows are already durable; the sweep covers a failed publish)."""

    def __init__(self, table: Table, relay: OutboxRelay | None = None, *, background: bool = False) -> None:
        self.table = table
        self.relay = relay
        self.background = background

    @property
    def publishing(self) -> int:
        """Hand-overs whose answer or bookkeeping is not finished yet."""
        return self.relay.in_flight if self.relay is not None else 0

    async def drain(self) -> None:
        """Wait for every hand-over to finish (at shutdown, before the publisher closes)."""
        if self.relay is not None:
            await self.relay.drain()

    async def add(self, session: AsyncSession, *events: Event) -> None:
        """Stage events in the caller's transaction. Nothing is published if that transaction rolls back.

        An event whose id is already in the outbox is left as it is: an event with an id derived from what
        caused it (a run's skip, step or child card) is staged again when a redelivered message is handled
        again after a crash, and the row committed the first time is published (or relayed) once."""
        if not events:
            return
        traceparent = current_traceparent()
        now = utc_now()
        staged = [(str(event.id), topic_of(event), to_message(event, traceparent)) for event in events]
        rows = [self._row(*item, now) for item in staged]
        inserted = set(await insert_many_ignoring_conflicts(session, self.table, rows, returning="event_id"))
        staged = [item for item in staged if item[0] in inserted]
        if staged and self.relay is not None:
            relay = self.relay

            async def publish() -> None:
                answered = relay.hand_over(staged)
                if not self.background:
                    await answered

            after_commit(session, publish)

    @staticmethod
    def _row(event_id: str, topic: str, message: EventMessage, now: datetime) -> dict[str, object]:
        return {
            "event_id": event_id,
            "topic": topic,
            "event_type": message.attributes["type"],
            "ordering_key": message.ordering_key,
            "data": message.data.decode(),
            "attributes": json.dumps(message.attributes),
            "created_at": now,
            "publish_attempts": 0,
        }


Staged = tuple[str, str, EventMessage]
"""An outbox row as handed over: event id, topic, message."""

Mark = tuple[str, str | BaseException]
"""A publish's outcome for an outbox row: event id, and the message id or the error."""


class OutboxRelay(StoppableLoop):
    """Publishes committed outbox rows and marks them sent; sweeps up anything left behind, in order."""

    def __init__(
        self,
        db: Database,
        table: Table,
        sink: MessageSink,
        *,
        grace: timedelta = timedelta(seconds=2),
        batch_size: int = 200,
        mark_delay: float = 0.1,
    ) -> None:
        super().__init__()
        self._db = db
        self._table = table
        self._sink = sink
        self._grace = grace
        self._batch = batch_size
        self._mark_delay = mark_delay
        self._lock = asyncio.Lock()
        self._hand_overs: set[asyncio.Task[None]] = set()
        self._unmarked: list[Mark] = []
        self._writing: asyncio.Task[None] | None = None
        self._marking = asyncio.Lock()

    @property
    def in_flight(self) -> int:
        return len(self._hand_overs)

    def hand_over(self, staged: Sequence[Staged]) -> asyncio.Future[None]:
        """Right after commit: submit these rows to the sink now, in order, and mark them sent once it has
        answered, in the background. The returned future resolves when the sink has answered for all of
        them; it never fails (a row the sink refused stays unsent, for the sweep)."""
        answers = [self._sink.submit(topic, message) for _, topic, message in staged]
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        event_ids = [event_id for event_id, _, _ in staged]
        settling = asyncio.create_task(self._settle(event_ids, answers, answered))
        self._hand_overs.add(settling)
        settling.add_done_callback(self._hand_overs.discard)
        return answered

    async def _settle(
        self, event_ids: list[str], answers: list[Awaitable[str]], answered: asyncio.Future[None]
    ) -> None:
        try:
            outcomes = await _outcomes(answers)
        finally:
            if not answered.done():
                answered.set_result(None)
        self._unmarked.extend(zip(event_ids, outcomes, strict=True))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_marks())
        await asyncio.shield(self._writing)

    async def _write_marks(self) -> None:
        """Write every mark waiting, ``mark_delay`` after the first of them: the hand-overs answered
        meanwhile share one transaction (a run's events, a busy router's calls), so the bookkeeping does not
        take a write transaction per publish from the work that publishes."""
        await asyncio.sleep(self._mark_delay)
        async with self._marking:  # one writer at a time
            self._writing = None  # marks arriving from now on wait for the next write
            marks, self._unmarked = self._unmarked, []
            try:
                async with self._db.transaction() as session:
                    await self._record(session, marks)
            except Exception as exc:  # the rows stay unsent: the sweep publishes them again, consumers dedupe
                log.warning("outbox.record_deferred", count=len(marks), error=type(exc).__name__)

    async def drain(self) -> None:
        """Wait for the hand-overs in progress, including their bookkeeping."""
        while self._hand_overs:
            await asyncio.gather(*self._hand_overs, return_exceptions=True)

    async def sweep(self, now: datetime | None = None) -> int:
        """Publish unsent rows older than the grace period (a crash between commit and publish)."""
        cutoff = (now or utc_now()) - self._grace
        await self.drain()  # a row being handed over is not left behind
        return await self._publish_where(self._table.c.created_at <= cutoff)

    async def run(self, interval: float = 1.0) -> None:
        """Sweep until ``stop`` (a lifespan task)."""
        while not self.stopping:
            try:
                published = await self.sweep()
                if published:
                    log.info("outbox.relayed", count=published)
            except Exception as exc:
                log.warning("outbox.sweep_failed", error=type(exc).__name__, detail=str(exc)[:300])
            await self.pause(interval)

    async def _publish_where(self, condition: object) -> int:
        async with self._lock:
            published = 0
            while True:
                count, complete = await self._publish_batch(condition)
                published += count
                if not complete or count < self._batch:
                    return published

    async def _publish_batch(self, condition: object) -> tuple[int, bool]:
        """Publish one batch: every row handed to the client at once, in order (the client keeps each
        ordering key's order and pauses a key after a failure, so no event overtakes an earlier one)."""
        table = self._table
        query = (
            select(table)
            .where(table.c.published_at.is_(None), condition)  # type: ignore[arg-type]
            .order_by(table.c.seq)
            .limit(self._batch)
        )
        if is_sqlite(self._db.url):
            # SQLite has one write lock: never hold it across network calls (one instance, one relay lock).
            async with self._db.transaction() as session:
                rows = list((await session.execute(query)).all())
            outcomes = await self._send(rows)
            async with self._db.transaction() as session:
                await self._record(session, _marks(rows, outcomes))
        else:
            async with self._db.transaction() as session:
                rows = list((await session.execute(query.with_for_update(skip_locked=True))).all())
                outcomes = await self._send(rows)
                await self._record(session, _marks(rows, outcomes))
        published = sum(isinstance(outcome, str) for outcome in outcomes)
        return published, published == len(rows)

    async def _send(self, rows: list[Row[tuple[object, ...]]]) -> list[str | BaseException]:
        messages = [EventMessage(row.data.encode(), json.loads(row.attributes), row.ordering_key) for row in rows]
        return await _outcomes([self._sink.submit(row.topic, m) for row, m in zip(rows, messages, strict=True)])

    async def _record(self, session: AsyncSession, marks: list[Mark]) -> None:
        """Mark sent rows with their message id, and count a failed attempt on the others (one statement
        for each kind)."""
        table = self._table
        sent, failed = [], []
        now = utc_now()
        for event_id, outcome in marks:
            if isinstance(outcome, BaseException):
                log.warning("outbox.publish_failed", event_id=event_id, error=type(outcome).__name__)
                failed.append({"row": event_id, "error": f"{type(outcome).__name__}: {outcome}"[:500]})
            else:
                sent.append({"row": event_id, "message": outcome, "at": now})
        counted = update(table).where(table.c.event_id == bindparam("row"))
        attempts = table.c.publish_attempts + 1
        if sent:
            await session.execute(
                counted.values(
                    publish_attempts=attempts, message_id=bindparam("message"), published_at=bindparam("at")
                ),
                sent,
            )
        if failed:
            await session.execute(counted.values(publish_attempts=attempts, last_error=bindparam("error")), failed)


async def _outcomes(answers: list[Awaitable[str]]) -> list[str | BaseException]:
    return list(await asyncio.gather(*answers, return_exceptions=True))


def _marks(rows: list[Row[tuple[object, ...]]], outcomes: list[str | BaseException]) -> list[Mark]:
    return [(str(row.event_id), outcome) for row, outcome in zip(rows, outcomes, strict=True)]
