"""Transactional outbox: events are rows written with the change, published after commit, relayed if left."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from agentworks_events import Event, EventMessage, to_message, topic_of, utc_now
from agentworks_platform.db import Database, after_commit, is_sqlite
from agentworks_platform.logging import get_logger
from agentworks_platform.telemetry import current_traceparent
from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_pubsub.loops import StoppableLoop
from agentworks_pubsub.publisher import MessageSink

log = get_logger(__name__)


class Outbox:
    """Adds events to the current transaction; once it commits, hands them to the relay to publish.

    With ``background`` the publish runs as a task of its own, so the request that committed the events
    answers without waiting for Pub/Sub (the rows are already durable; the sweep covers a failed publish)."""

    def __init__(self, table: Table, relay: OutboxRelay | None = None, *, background: bool = False) -> None:
        self.table = table
        self.relay = relay
        self.background = background
        self._in_flight: set[asyncio.Task[int]] = set()

    @property
    def publishing(self) -> int:
        """Background publishes not finished yet."""
        return len(self._in_flight)

    async def drain(self) -> None:
        """Wait for the background publishes (at shutdown, before the publisher closes)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def add(self, session: AsyncSession, *events: Event) -> None:
        """Stage events in the caller's transaction. Nothing is published if that transaction rolls back."""
        traceparent = current_traceparent()
        now = utc_now()
        rows = [self._row(event, to_message(event, traceparent), now) for event in events]
        await session.execute(insert(self.table), rows)
        if self.relay is not None:
            relay, ids = self.relay, [str(e.id) for e in events]

            async def publish() -> None:
                if not self.background:
                    await relay.publish_now(ids)
                    return
                task = asyncio.create_task(relay.publish_now(ids))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

            after_commit(session, publish)

    @staticmethod
    def _row(event: Event, message: EventMessage, now: datetime) -> dict[str, object]:
        return {
            "event_id": str(event.id),
            "topic": topic_of(event),
            "event_type": message.attributes["type"],
            "ordering_key": message.ordering_key,
            "data": message.data.decode(),
            "attributes": json.dumps(message.attributes),
            "created_at": now,
            "publish_attempts": 0,
        }


class OutboxRelay(StoppableLoop):
    """Publishes outbox rows in insertion order and marks them sent; sweeps up anything left behind."""

    def __init__(
        self,
        db: Database,
        table: Table,
        sink: MessageSink,
        *,
        grace: timedelta = timedelta(seconds=2),
        batch_size: int = 200,
    ) -> None:
        super().__init__()
        self._db = db
        self._table = table
        self._sink = sink
        self._grace = grace
        self._batch = batch_size
        self._lock = asyncio.Lock()

    async def publish_now(self, event_ids: Sequence[str]) -> int:
        """Right after commit: publish these rows. Failures are left for the sweep, never raised."""
        try:
            # Not behind the sweep's lock: a request's own rows go out at once, concurrently with other
            # requests'. Should the sweep pick the same rows up meanwhile, they are published twice, which
            # consumers absorb (the inbox), like any redelivery.
            count, _complete = await self._publish_batch(self._table.c.event_id.in_(list(event_ids)))
            return count
        except Exception as exc:
            log.warning("outbox.publish_deferred", count=len(event_ids), error=type(exc).__name__)
            return 0

    async def sweep(self, now: datetime | None = None) -> int:
        """Publish unsent rows older than the grace period (a crash between commit and publish)."""
        cutoff = (now or utc_now()) - self._grace
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
                await self._record(session, rows, outcomes)
        else:
            async with self._db.transaction() as session:
                rows = list((await session.execute(query.with_for_update(skip_locked=True))).all())
                outcomes = await self._send(rows)
                await self._record(session, rows, outcomes)
        published = sum(isinstance(outcome, str) for outcome in outcomes)
        return published, published == len(rows)

    async def _send(self, rows: list[Row[tuple[object, ...]]]) -> list[str | BaseException]:
        messages = [
            self._sink.publish_message(
                row.topic, EventMessage(row.data.encode(), json.loads(row.attributes), row.ordering_key)
            )
            for row in rows
        ]
        return list(await asyncio.gather(*messages, return_exceptions=True))

    async def _record(
        self, session: AsyncSession, rows: list[Row[tuple[object, ...]]], outcomes: list[str | BaseException]
    ) -> None:
        table = self._table
        for row, outcome in zip(rows, outcomes, strict=True):
            values: dict[str, object] = {"publish_attempts": table.c.publish_attempts + 1}
            if isinstance(outcome, BaseException):
                values["last_error"] = f"{type(outcome).__name__}: {outcome}"[:500]
                log.warning("outbox.publish_failed", event_id=row.event_id, error=type(outcome).__name__)
            else:
                values["message_id"], values["published_at"] = outcome, utc_now()
            await session.execute(update(table).where(table.c.seq == row.seq).values(**values))
