"""Pull consumer: a subscription read in batches, each batch's inbox rows and effects in one transaction.

Where events are many and the work per event is a few rows (the usage ledger), a push request and a
transaction per event cost far more than the work. The consumer pulls up to ``max_messages`` at a time,
claims them in the inbox with one statement, hands the new ones to the batch handler in the same
transaction and acknowledges after commit. The outcome of every message follows the push policy of
DESIGN §3: processed or duplicate → ack; malformed, unknown or ``PermanentEventError`` → ack plus a
structured error (and a ``rejected`` inbox row); transient → nack, so Pub/Sub redelivers with backoff and
dead-letters after the maximum attempts. A batch that fails is retried one event per transaction, so one
bad event holds back only itself. Before the batch's transaction every event is screened: one whose
``type`` attribute disagrees with it, or that the ``verify`` check refuses (ids of another workspace), is
rejected on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from agentworks_events import Event, UnknownEventError, parse_event
from agentworks_platform.db import Database, insert_many_ignoring_conflicts, is_unique_violation
from agentworks_platform.logging import get_logger
from google.api_core.exceptions import DeadlineExceeded
from google.pubsub_v1 import ReceivedMessage, SubscriberAsyncClient
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcAsyncIOTransport
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import Link, SpanKind
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_pubsub.loops import StoppableLoop
from agentworks_pubsub.receiver import (
    PermanentEventError,
    PushMessage,
    inbox_row,
    log_permanent_failure,
    mislabelled,
)
from agentworks_pubsub.topology import Subscription

log = get_logger(__name__)
tracer = trace.get_tracer(__name__)

PULL_TIMEOUT_SECONDS = 60.0
RETRY_SECONDS = (0.5, 30.0)
ANSWER_CHUNK = 1000  # ack ids per acknowledge / modify-deadline request, well inside the API's request size
MAX_LINKS = 128
GIVE_UP_AFTER = 3


@dataclass(frozen=True, slots=True)
class Delivery:
    """One pulled event, the metadata of its message and the ack id that answers it."""

    event: Any
    message: PushMessage
    ack_id: str


BatchHandler = Callable[[AsyncSession, Sequence[Delivery]], Awaitable[None]]
"""Applies new events (each delivered here once per inbox) within the batch's transaction."""

EventCheck = Callable[[Any], Awaitable[None]]
"""Checks an event before its batch's transaction: PermanentEventError when the ids it names are not its
workspace's, anything else when that cannot be told yet (the event is redelivered)."""


@dataclass
class Verdict:
    """What to answer Pub/Sub: ack ids to acknowledge and ack ids to redeliver."""

    acks: list[str] = field(default_factory=list)
    nacks: list[str] = field(default_factory=list)

    def merge(self, other: Verdict) -> Verdict:
        self.acks.extend(other.acks)
        self.nacks.extend(other.nacks)
        return self


def subscriber_client() -> SubscriberAsyncClient:
    """Google's async subscriber client; the emulator at ``$PUBSUB_EMULATOR_HOST`` over plain gRPC when set.

    Create it on the loop that will use it (in a lifespan) and close it with ``client.transport.close()``."""
    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if host:
        return SubscriberAsyncClient(transport=SubscriberGrpcAsyncIOTransport(channel=grpc.aio.insecure_channel(host)))
    return SubscriberAsyncClient()


class PullConsumer(StoppableLoop):
    """Pulls one subscription in batches and applies each batch in one transaction with its inbox rows.

    ``stop`` ends ``run`` between batches: a batch in progress is applied and answered first; an idle pull
    is abandoned (nothing was leased)."""

    def __init__(
        self,
        subscription: Subscription,
        inbox: Table,
        handler: BatchHandler,
        max_messages: int = 500,
        verify: EventCheck | None = None,
    ) -> None:
        if not 1 <= max_messages <= 1000:
            raise ValueError("max_messages must be between 1 and 1000 (Pub/Sub's limit per pull)")
        super().__init__()
        self.subscription = subscription
        self.inbox = inbox
        self.handler = handler
        self.max_messages = max_messages
        self.verify = verify

    # ---- the loop ----

    async def run(self, db: Database, client: SubscriberAsyncClient, path: str) -> None:
        """Pull, apply and answer until ``stop`` (a lifespan task); an unreachable Pub/Sub is retried."""
        backoff = RETRY_SECONDS[0]
        while not self.stopping:
            try:
                received = await self._pull(client, path)
            except Exception as exc:
                log.warning(
                    "pull.unavailable",
                    subscription=self.subscription.name,
                    error=type(exc).__name__,
                    detail=str(exc)[:300],
                    retry_in_seconds=backoff,
                )
                await self.pause(backoff)
                backoff = min(backoff * 2, RETRY_SECONDS[1])
                continue
            backoff = RETRY_SECONDS[0]
            if received:
                await self._consume(db, client, path, received)

    async def _consume(
        self, db: Database, client: SubscriberAsyncClient, path: str, received: Sequence[ReceivedMessage]
    ) -> None:
        try:
            verdict = await self.process(db, received)
        except Exception:
            # Unanswered, the batch comes back once its ack deadline passes; the loop must go on.
            log.exception("pull.batch_crashed", subscription=self.subscription.name, count=len(received))
            return
        await self.answer(client, path, verdict)

    async def _pull(self, client: SubscriberAsyncClient, path: str) -> Sequence[ReceivedMessage]:
        pulling = asyncio.ensure_future(
            client.pull(subscription=path, max_messages=self.max_messages, timeout=PULL_TIMEOUT_SECONDS)
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({pulling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not pulling.done():
            pulling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pulling
            return []
        try:
            return list(pulling.result().received_messages)
        except DeadlineExceeded:
            return []  # a quiet subscription

    async def answer(self, client: SubscriberAsyncClient, path: str, verdict: Verdict) -> None:
        """Acknowledge and nack; a failed answer only means a redelivery, which the inbox absorbs."""
        try:
            for chunk in _chunks(verdict.acks):
                await client.acknowledge(subscription=path, ack_ids=chunk)
            for chunk in _chunks(verdict.nacks):
                await client.modify_ack_deadline(subscription=path, ack_ids=chunk, ack_deadline_seconds=0)
        except Exception as exc:
            log.warning(
                "pull.answer_failed",
                subscription=self.subscription.name,
                acks=len(verdict.acks),
                nacks=len(verdict.nacks),
                error=type(exc).__name__,
            )

    # ---- one batch ----

    async def process(self, db: Database, received: Sequence[ReceivedMessage]) -> Verdict:
        """Apply a pulled batch; returns what to answer for each of its messages."""
        verdict, deliveries = Verdict(), []
        for message in received:
            delivery = self._decode(message)
            if delivery is None:
                verdict.acks.append(message.ack_id)
            else:
                deliveries.append(delivery)
        links = [_link_of(d.message) for d in deliveries[:MAX_LINKS]]
        with tracer.start_as_current_span(
            f"consume {self.subscription.name}", kind=SpanKind.CONSUMER, links=[x for x in links if x]
        ) as span:
            span.set_attribute("messaging.batch.message_count", len(received))
            fit, screened = await self._screen(db, deliveries)
            return verdict.merge(screened).merge(await self._settle(db, fit))

    async def _screen(self, db: Database, deliveries: Sequence[Delivery]) -> tuple[list[Delivery], Verdict]:
        """The deliveries fit to apply, and the answers for the rest: a mislabelled or refused event is
        rejected (recorded, acked); one that cannot be checked now is nacked."""
        fit, rejected, verdict = [], [], Verdict()
        for delivery in deliveries:
            try:  # one at a time: the checks' lookups are cached, so most of them never wait
                await self._check(delivery)
            except PermanentEventError as exc:
                rejected.append((delivery, str(exc)))
            except Exception as exc:
                self._log_transient(delivery, exc)
                verdict.nacks.append(delivery.ack_id)
            else:
                fit.append(delivery)
        if rejected:
            await self._reject(db, rejected)
            verdict.acks.extend(delivery.ack_id for delivery, _ in rejected)
        return fit, verdict

    async def _check(self, delivery: Delivery) -> None:
        reason = mislabelled(delivery.event, delivery.message)
        if reason is not None:
            raise PermanentEventError(reason)
        if self.verify is not None:
            await self.verify(delivery.event)

    async def _reject(self, db: Database, rejected: Sequence[tuple[Delivery, str]]) -> None:
        """Record each as ``rejected`` in the inbox (so a redelivery is a duplicate) and log it."""
        rows = [inbox_row(self.subscription, d.event, d.message, "rejected", reason) for d, reason in rejected]
        async with db.transaction() as session:
            await insert_many_ignoring_conflicts(session, self.inbox, rows, "event_id")
        for delivery, reason in rejected:
            log_permanent_failure(self.subscription, reason, delivery.message, delivery.event, delivery="pull")

    def _decode(self, received: ReceivedMessage) -> Delivery | None:
        """The event of a pulled message; None (logged) when it can never be processed."""
        pulled = received.message
        message = PushMessage(
            subscription=self.subscription.name,
            message_id=pulled.message_id,
            attributes=dict(pulled.attributes),
            ordering_key=pulled.ordering_key,
            delivery_attempt=received.delivery_attempt or 1,
            publish_time=pulled.publish_time.isoformat() if pulled.publish_time else "",
        )
        try:
            event = parse_event(self.subscription.topic, pulled.data)
        except UnknownEventError as exc:
            log_permanent_failure(self.subscription, str(exc), message, delivery="pull")
            return None
        return Delivery(event, message, received.ack_id)

    async def _settle(self, db: Database, batch: Sequence[Delivery], after_race: bool = False) -> Verdict:
        if not batch:
            return Verdict()
        try:
            async with db.transaction() as session:
                fresh = await self._claim(session, batch)
                if fresh:
                    await self.handler(session, fresh)
        except Exception as exc:
            if len(batch) > 1:
                log.warning(
                    "pull.batch_failed", subscription=self.subscription.name, count=len(batch), error=type(exc).__name__
                )
                return await self._settle_one_by_one(db, batch)
            if is_unique_violation(exc) and not after_race:
                # It lost a race to create a row another consumer created meanwhile: once more, it meets the row.
                log.info("pull.creation_race", subscription=self.subscription.name, event_id=str(batch[0].event.id))
                return await self._settle(db, batch, after_race=True)
            return await self._failed(db, batch[0], exc)
        log.info("pull.processed", subscription=self.subscription.name, count=len(batch), new=len(fresh))
        return Verdict(acks=[d.ack_id for d in batch])

    async def _settle_one_by_one(self, db: Database, batch: Sequence[Delivery]) -> Verdict:
        """Each event in its own transaction; after ``GIVE_UP_AFTER`` transient failures in a row (the
        database is down, not one event bad) the rest is nacked untried."""
        verdict, failures_in_a_row = Verdict(), 0
        for index, delivery in enumerate(batch):
            if failures_in_a_row >= GIVE_UP_AFTER:
                verdict.nacks.extend(d.ack_id for d in batch[index:])
                break
            alone = await self._settle(db, [delivery])
            failures_in_a_row = failures_in_a_row + 1 if alone.nacks else 0
            verdict.merge(alone)
        return verdict

    async def _claim(self, session: AsyncSession, batch: Sequence[Delivery]) -> list[Delivery]:
        """Inbox rows for the whole batch in one statement; the deliveries not seen before, once each."""
        unique = list({str(d.event.id): d for d in batch}.values())
        rows = [inbox_row(self.subscription, d.event, d.message, "processed") for d in unique]
        claimed = set(await insert_many_ignoring_conflicts(session, self.inbox, rows, "event_id"))
        return [d for d in unique if str(d.event.id) in claimed]

    async def _failed(self, db: Database, delivery: Delivery, error: Exception) -> Verdict:
        if isinstance(error, PermanentEventError):
            await self._reject(db, [(delivery, str(error))])
            return Verdict(acks=[delivery.ack_id])
        self._log_transient(delivery, error)
        return Verdict(nacks=[delivery.ack_id])

    def _log_transient(self, delivery: Delivery, error: BaseException) -> None:
        event: Event = delivery.event
        log.error(
            "pull.transient_failure",
            subscription=self.subscription.name,
            event_id=str(event.id),
            event_type=event.type,
            delivery_attempt=delivery.message.delivery_attempt,
            error=type(error).__name__,
            detail=str(error)[:300],
        )


def _link_of(message: PushMessage) -> Link | None:
    context = trace.get_current_span(extract(dict(message.attributes))).get_span_context()
    return Link(context) if context.is_valid else None


def _chunks(ack_ids: list[str]) -> list[list[str]]:
    return [ack_ids[start : start + ANSWER_CHUNK] for start in range(0, len(ack_ids), ANSWER_CHUNK)]
