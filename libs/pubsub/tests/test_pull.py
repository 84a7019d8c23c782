from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from agentworks_events import AgentRunStarted, to_message
from agentworks_events.samples import sample_events
from agentworks_localstack.threads import EmulatorThread
from agentworks_platform.db import Database
from agentworks_pubsub import Delivery, PermanentEventError, PullConsumer
from agentworks_pubsub.pull import subscriber_client
from agentworks_pubsub.testing import received_message
from agentworks_pubsub.topology import Subscription
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.pubsub_v1 import PubsubMessage, ReceivedMessage, types
from sqlalchemy import Column, Integer, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .conftest import Tables

PROJECT = "pull-test"
SUBSCRIPTION = Subscription(
    name="ledger-agent-runs",
    topic="agent-runs",
    subscriber="ledger",
    max_delivery_attempts=5,
    dead_letter_topic="agent-runs-dead-letter",
)


class BatchEffects:
    """A batch handler writing one row per event; ``failing`` names events that fail, and how."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.batches: list[int] = []
        self.failing: dict[str, type[Exception]] = {}
        self.fail_first_attempt_only = False

    async def __call__(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
        self.batches.append(len(deliveries))
        rows = [
            {
                "event_id": str(d.event.id),
                "topic": "effect",
                "event_type": d.event.type,
                "ordering_key": "",
                "data": "{}",
                "attributes": "{}",
                "created_at": d.event.occurred_at,
                "publish_attempts": d.message.delivery_attempt,
            }
            for d in deliveries
        ]
        await session.execute(insert(self.table), rows)
        for delivery in deliveries:
            error = self.failing.get(str(delivery.event.id))
            if error and not (self.fail_first_attempt_only and delivery.message.delivery_attempt > 1):
                raise error(f"cannot take {delivery.event.id}")


def started(count: int) -> list[AgentRunStarted]:
    return [next(e for e in sample_events() if isinstance(e, AgentRunStarted)) for _ in range(count)]


async def count(db: Database, table: Table) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def effects(tables: Tables) -> BatchEffects:
    return BatchEffects(tables.outbox)


@pytest.fixture
def consumer(tables: Tables, effects: BatchEffects) -> PullConsumer:
    return PullConsumer(SUBSCRIPTION, tables.inbox, effects, max_messages=100)


async def test_a_batch_is_applied_in_one_call_and_duplicates_are_acked_without_effect(
    db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer
) -> None:
    events = started(5)
    batch = [received_message(e) for e in events] + [received_message(events[0]), received_message(events[3])]
    verdict = await consumer.process(db, batch)
    assert sorted(verdict.acks) == sorted(m.ack_id for m in batch)
    assert verdict.nacks == []
    assert effects.batches == [5]
    again = [received_message(e, attempt=2) for e in events[:3]] + [received_message(e) for e in started(1)]
    verdict = await consumer.process(db, again)
    assert sorted(verdict.acks) == sorted(m.ack_id for m in again)
    assert effects.batches == [5, 1]
    assert await count(db, tables.inbox) == 6
    assert await count(db, tables.outbox) == 6


async def test_an_event_that_fails_holds_back_only_itself(
    db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer
) -> None:
    events = started(4)
    effects.failing[str(events[1].id)] = ConnectionError
    batch = [received_message(e) for e in events]
    verdict = await consumer.process(db, batch)
    assert verdict.nacks == [batch[1].ack_id]
    assert sorted(verdict.acks) == sorted(m.ack_id for i, m in enumerate(batch) if i != 1)
    assert effects.batches == [4, 1, 1, 1, 1]  # the batch rolled back, then one transaction per event
    assert await count(db, tables.inbox) == 3
    assert await count(db, tables.outbox) == 3
    effects.failing.clear()
    redelivered = received_message(events[1], attempt=2)
    assert (await consumer.process(db, [redelivered])).acks == [redelivered.ack_id]
    assert await count(db, tables.outbox) == 4


async def test_when_every_event_fails_the_batch_is_nacked_without_trying_each(
    db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer
) -> None:
    events = started(6)
    effects.failing = {str(e.id): ConnectionError for e in events}
    batch = [received_message(e) for e in events]
    verdict = await consumer.process(db, batch)
    assert sorted(verdict.nacks) == sorted(m.ack_id for m in batch)
    assert verdict.acks == []
    assert effects.batches == [6, 1, 1, 1]  # three failures in a row: the rest is left for redelivery
    assert await count(db, tables.inbox) == 0


async def test_a_permanent_failure_is_acked_and_recorded_as_rejected(
    db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer
) -> None:
    events = started(3)
    effects.failing[str(events[2].id)] = PermanentEventError
    batch = [received_message(e) for e in events]
    verdict = await consumer.process(db, batch)
    assert sorted(verdict.acks) == sorted(m.ack_id for m in batch)
    assert verdict.nacks == []
    async with db.transaction() as session:
        outcomes = dict((await session.execute(select(tables.inbox.c.event_id, tables.inbox.c.outcome))).all())
    assert outcomes == {str(events[0].id): "processed", str(events[1].id): "processed", str(events[2].id): "rejected"}
    assert await count(db, tables.outbox) == 2
    assert effects.batches == [3, 1, 1, 1]
    effects.failing.clear()
    assert (await consumer.process(db, [received_message(events[2])])).nacks == []
    assert effects.batches == [3, 1, 1, 1]  # the rejected event is not applied on a redelivery


@pytest.mark.parametrize("data", [b"not json", b'{"type": "agent.run.exploded"}', b"{}"])
async def test_malformed_and_unknown_messages_are_acked_without_effect(
    db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer, data: bytes
) -> None:
    [event] = started(1)
    bad, good = received_message(event, data=data), received_message(started(1)[0])
    verdict = await consumer.process(db, [bad, good])
    assert sorted(verdict.acks) == sorted([bad.ack_id, good.ack_id])
    assert effects.batches == [1]
    assert await count(db, tables.inbox) == 1


def test_a_batch_larger_than_pubsub_allows_is_refused(tables: Tables, effects: BatchEffects) -> None:
    with pytest.raises(ValueError, match="between 1 and 1000"):
        PullConsumer(SUBSCRIPTION, tables.inbox, effects, max_messages=1001)


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorThread]:
    thread = EmulatorThread(tmp_path / "pubsub.db", None).start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", thread.host)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    for topic in ("agent-runs", "agent-runs-dead-letter"):
        publisher.create_topic(name=publisher.topic_path(PROJECT, topic))
    subscriber.create_subscription(
        request=types.Subscription(
            name=subscriber.subscription_path(PROJECT, SUBSCRIPTION.name),
            topic=publisher.topic_path(PROJECT, "agent-runs"),
            ack_deadline_seconds=30,
            dead_letter_policy=types.DeadLetterPolicy(
                dead_letter_topic=publisher.topic_path(PROJECT, "agent-runs-dead-letter"), max_delivery_attempts=5
            ),
        )
    )
    subscriber.close()
    publisher.stop()
    yield thread
    thread.close()


async def test_the_consumer_pulls_applies_and_acknowledges_through_the_emulator(
    emulator: EmulatorThread, db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer
) -> None:
    events = started(250)
    effects.failing[str(events[7].id)] = ConnectionError
    effects.fail_first_attempt_only = True
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(PROJECT, "agent-runs")
    futures = [
        publisher.publish(topic, message.data, **message.attributes)
        for event in events + events[:50]  # the first fifty published twice
        for message in [to_message(event)]
    ]
    for future in futures:
        future.result(timeout=30)
    publisher.stop()

    client = subscriber_client()
    path = f"projects/{PROJECT}/subscriptions/{SUBSCRIPTION.name}"
    running = asyncio.create_task(consumer.run(db, client, path))
    assert emulator.emulator is not None
    store = emulator.emulator.store
    deadline = time.monotonic() + 30
    while await count(db, tables.outbox) < len(events) or sum(store.backlog().values()):
        assert time.monotonic() < deadline, "the consumer did not apply and acknowledge every message"
        await asyncio.sleep(0.05)
    await consumer.stop(running)
    assert running.done()
    assert not running.cancelled()  # it ended between batches

    assert await count(db, tables.inbox) == len(events)
    assert max(effects.batches) > 1  # pulled and applied in batches, not one by one
    async with db.transaction() as session:
        attempt = await session.scalar(
            select(tables.inbox.c.delivery_attempt).where(tables.inbox.c.event_id == str(events[7].id))
        )
    assert attempt == 2  # nacked once, redelivered, applied
    await client.transport.close()


async def test_the_consumer_waits_for_a_missing_subscription_and_then_consumes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database, tables: Tables, consumer: PullConsumer
) -> None:
    thread = EmulatorThread(tmp_path / "pubsub.db", None).start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", thread.host)
    client = subscriber_client()
    path = f"projects/{PROJECT}/subscriptions/{SUBSCRIPTION.name}"
    running = asyncio.create_task(consumer.run(db, client, path))
    try:
        await asyncio.sleep(0.3)  # pulling a subscription that does not exist yet: NotFound, retried
        assert not running.done()
        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        topic = publisher.topic_path(PROJECT, "agent-runs")
        publisher.create_topic(name=topic)
        subscriber.create_subscription(name=path, topic=topic)
        [event] = started(1)
        message = to_message(event)
        publisher.publish(topic, message.data, **message.attributes).result(timeout=10)
        publisher.stop()
        subscriber.close()
        deadline = time.monotonic() + 10
        while await count(db, tables.inbox) < 1:
            assert time.monotonic() < deadline, "the consumer never recovered"
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop(running)
        await client.transport.close()
        thread.close()


async def test_a_batch_span_links_to_each_publishers_trace(db: Database, consumer: PullConsumer) -> None:
    from agentworks_platform.telemetry import configure_tracing, current_traceparent
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    configure_tracing("tests", "none", "proj", extra_processor=SimpleSpanProcessor(spans))
    published, traces = [], []
    for event in started(2):
        with trace.get_tracer("publisher").start_as_current_span("publish") as span:
            message = to_message(event, current_traceparent())
            traces.append(span.get_span_context().trace_id)
        published.append(
            ReceivedMessage(
                ack_id=f"ack-{event.id}",
                message=PubsubMessage(data=message.data, attributes=message.attributes, message_id=str(event.id)),
            )
        )
    assert (await consumer.process(db, published)).acks == [m.ack_id for m in published]
    [batch] = [s for s in spans.get_finished_spans() if s.name == f"consume {SUBSCRIPTION.name}"]
    assert sorted(link.context.trace_id for link in batch.links) == sorted(traces)
    assert batch.attributes is not None
    assert batch.attributes["messaging.batch.message_count"] == 2


def _labelled(event: AgentRunStarted, label: str) -> ReceivedMessage:
    received = received_message(event)
    received.message.attributes["type"] = label
    return received


async def _outcomes(db: Database, tables: Tables) -> dict[str, tuple[str, str | None]]:
    async with db.transaction() as session:
        rows = await session.execute(select(tables.inbox.c.event_id, tables.inbox.c.outcome, tables.inbox.c.detail))
    return {event_id: (outcome, detail) for event_id, outcome, detail in rows.all()}


@pytest.mark.parametrize("label", ["agent.run.log", "agent.run.completed", "Agent.Run.Started", ""])
async def test_a_mislabelled_message_is_rejected_and_recorded_while_its_batch_is_applied(
    db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer, label: str
) -> None:
    events = started(3)
    batch = [received_message(events[0]), _labelled(events[1], label), received_message(events[2])]
    verdict = await consumer.process(db, batch)
    assert (sorted(verdict.acks), verdict.nacks) == (sorted(m.ack_id for m in batch), [])
    assert effects.batches == [2]  # one transaction for the well-labelled two; the other never reached it
    outcomes = await _outcomes(db, tables)
    assert outcomes[str(events[1].id)][0] == "rejected"
    assert "type attribute" in (outcomes[str(events[1].id)][1] or "")
    assert {outcomes[str(e.id)][0] for e in (events[0], events[2])} == {"processed"}
    assert (await consumer.process(db, [received_message(events[1], attempt=2)])).acks  # now a duplicate
    assert effects.batches == [2]


async def test_the_verify_check_rejects_foreign_events_and_leaves_unsure_ones_for_redelivery(
    db: Database, tables: Tables, effects: BatchEffects
) -> None:
    events = started(3)
    foreign, unsure = str(events[0].id), str(events[1].id)

    async def verify(event: AgentRunStarted) -> None:
        if str(event.id) == foreign:
            raise PermanentEventError("project belongs to another workspace")
        if str(event.id) == unsure:
            raise ConnectionError("core is unreachable")

    consumer = PullConsumer(SUBSCRIPTION, tables.inbox, effects, max_messages=100, verify=verify)
    batch = [received_message(e) for e in events]
    verdict = await consumer.process(db, batch)
    assert sorted(verdict.acks) == sorted([batch[0].ack_id, batch[2].ack_id])
    assert verdict.nacks == [batch[1].ack_id]
    assert effects.batches == [1]
    outcomes = await _outcomes(db, tables)
    assert {k: v[0] for k, v in outcomes.items()} == {foreign: "rejected", str(events[2].id): "processed"}


async def test_a_mislabelled_message_pulled_through_the_emulator_is_recorded_not_lost(
    emulator: EmulatorThread, db: Database, tables: Tables, effects: BatchEffects, consumer: PullConsumer
) -> None:
    good, bad = started(2)
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(PROJECT, "agent-runs")
    for event, label in ((good, good.type), (bad, "agent.run.log")):
        message = to_message(event)
        publisher.publish(topic, message.data, **{**message.attributes, "type": label}).result(timeout=10)
    publisher.stop()
    client = subscriber_client()
    running = asyncio.create_task(consumer.run(db, client, f"projects/{PROJECT}/subscriptions/{SUBSCRIPTION.name}"))
    assert emulator.emulator is not None
    deadline = time.monotonic() + 30
    while await count(db, tables.inbox) < 2 or sum(emulator.emulator.store.backlog().values()):
        assert time.monotonic() < deadline, "the consumer did not answer both messages"
        await asyncio.sleep(0.05)
    await consumer.stop(running)
    await client.transport.close()
    outcomes = await _outcomes(db, tables)
    assert (outcomes[str(good.id)][0], outcomes[str(bad.id)][0]) == ("processed", "rejected")
    assert await count(db, tables.outbox) == 1  # only the well-labelled event had an effect


class Tallies:
    """A batch handler creating a row per event type on its first event and counting the rest: two consumers'
    first events both see no row, both insert, and one loses the race."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._checked = 0
        self._both_checked = asyncio.Event()

    async def __call__(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            key = delivery.event.type
            found = await session.scalar(select(self.table.c.events).where(self.table.c.kind == key))
            if found is not None:
                await session.execute(update(self.table).where(self.table.c.kind == key).values(events=found + 1))
                continue
            self._checked += 1
            if self._checked == 2:
                self._both_checked.set()
            await asyncio.wait_for(self._both_checked.wait(), 10)
            await session.execute(insert(self.table).values(kind=key, events=1))


async def test_two_consumers_creating_the_same_row_both_ack_through_the_path_of_an_existing_row(
    db: Database, tables: Tables
) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite transactions of a process take turns: two batches never interleave")
    tallies = Table("tallies", tables.metadata, Column("kind", String(40), primary_key=True), Column("events", Integer))
    async with db.engine.begin() as connection:
        await connection.run_sync(tallies.create)
    consumer = PullConsumer(SUBSCRIPTION, tables.inbox, Tallies(tallies), max_messages=100)
    first, second = ([received_message(event)] for event in started(2))
    verdicts = await asyncio.gather(consumer.process(db, first), consumer.process(db, second))
    assert [(v.acks, v.nacks) for v in verdicts] == [([first[0].ack_id], []), ([second[0].ack_id], [])]
    async with db.transaction() as session:
        assert (await session.execute(select(tallies.c.kind, tallies.c.events))).all() == [("agent.run.started", 2)]
    assert await count(db, tables.inbox) == 2
