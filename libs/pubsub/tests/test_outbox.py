from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

import pytest
from agentworks_events import EventMessage, utc_now
from agentworks_events.samples import sample_events
from agentworks_platform.db import Database
from agentworks_pubsub.outbox import Outbox, OutboxRelay
from agentworks_pubsub.testing import RecordingSink
from sqlalchemy import event, func, select

from .conftest import Tables


def _relay(db: Database, tables: Tables, sink: RecordingSink) -> OutboxRelay:
    return OutboxRelay(db, tables.outbox, sink, grace=timedelta(seconds=0))


async def test_commit_publishes_each_event_once_after_commit(db: Database, tables: Tables, sink: RecordingSink) -> None:
    relay = _relay(db, tables, sink)
    outbox = Outbox(tables.outbox, relay)
    events = sample_events()[:3]
    async with db.transaction() as session:
        await outbox.add(session, *events)
        assert sink.published == []  # nothing leaves before the commit
    assert sink.event_ids() == [str(e.id) for e in events]
    assert await relay.sweep() == 0
    assert len(sink.published) == 3
    assert [topic for topic, _ in sink.published] == ["card-events"] * 3


async def test_rolled_back_transaction_publishes_nothing(db: Database, tables: Tables, sink: RecordingSink) -> None:
    relay = _relay(db, tables, sink)
    outbox = Outbox(tables.outbox, relay)

    async def failing_change() -> None:
        async with db.transaction() as session:
            await outbox.add(session, *sample_events()[:2])
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        await failing_change()
    assert await relay.sweep() == 0
    assert sink.published == []
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(tables.outbox)) == 0


async def test_crash_between_commit_and_publish_is_healed_exactly_once(
    db: Database, tables: Tables, sink: RecordingSink
) -> None:
    crashed = Outbox(tables.outbox, relay=None)  # the process died before its after-commit publish
    events = sample_events()[:4]
    async with db.transaction() as session:
        await crashed.add(session, *events)
    assert sink.published == []
    relay = _relay(db, tables, sink)
    assert await relay.sweep() == 4
    assert await relay.sweep() == 0
    assert sink.event_ids() == [str(e.id) for e in events]


async def test_sweep_leaves_fresh_rows_to_the_publisher_within_grace(
    db: Database, tables: Tables, sink: RecordingSink
) -> None:
    async with db.transaction() as session:
        await Outbox(tables.outbox).add(session, sample_events()[0])
    relay = OutboxRelay(db, tables.outbox, sink, grace=timedelta(seconds=60))
    assert await relay.sweep() == 0
    assert await relay.sweep(now=utc_now() + timedelta(seconds=61)) == 1


async def test_publish_failure_is_retried_in_order_by_the_sweep(
    db: Database, tables: Tables, sink: RecordingSink
) -> None:
    relay = _relay(db, tables, sink)
    outbox = Outbox(tables.outbox, relay)
    sink.failing = True
    first, second = sample_events()[:2]
    async with db.transaction() as session:
        await outbox.add(session, first)
    async with db.transaction() as session:
        await outbox.add(session, second)
    assert sink.published == []
    await outbox.drain()  # the failed attempts are recorded in the background
    async with db.transaction() as session:
        errors = (await session.execute(select(tables.outbox.c.last_error, tables.outbox.c.publish_attempts))).all()
    assert all(err and "ConnectionError" in err for err, _ in errors)
    sink.failing = False
    assert await relay.sweep() == 2
    assert sink.event_ids() == [str(first.id), str(second.id)]


class _HeldSink(RecordingSink):
    """Publishes only once the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    def submit(self, topic: str, message: EventMessage) -> Awaitable[str]:
        self.entered.set()
        return self._held(topic, message)

    async def _held(self, topic: str, message: EventMessage) -> str:
        await self.release.wait()
        return await super().submit(topic, message)


async def test_a_background_outbox_commits_without_waiting_for_the_publish(db: Database, tables: Tables) -> None:
    sink = _HeldSink()
    relay = _relay(db, tables, sink)
    outbox = Outbox(tables.outbox, relay, background=True)
    events = sample_events()[:2]
    async with asyncio.timeout(5):  # the transaction's exit does not wait for the held publish
        async with db.transaction() as session:
            await outbox.add(session, *events)
    assert (outbox.publishing, sink.published) == (1, [])
    sink.release.set()
    await outbox.drain()
    assert (outbox.publishing, sink.event_ids()) == (0, [str(e.id) for e in events])
    assert await relay.sweep() == 0


async def test_a_failed_background_publish_is_left_to_the_sweep(
    db: Database, tables: Tables, sink: RecordingSink
) -> None:
    relay = _relay(db, tables, sink)
    outbox = Outbox(tables.outbox, relay, background=True)
    sink.failing = True
    [event] = sample_events()[:1]
    async with db.transaction() as session:
        await outbox.add(session, event)
    await outbox.drain()
    assert sink.published == []
    sink.failing = False
    assert await relay.sweep() == 1
    assert sink.event_ids() == [str(event.id)]


async def test_stopping_the_relay_lets_a_sweep_in_progress_finish(db: Database, tables: Tables) -> None:
    sink = _HeldSink()
    relay = _relay(db, tables, sink)
    async with db.transaction() as session:
        await Outbox(tables.outbox, relay=None).add(session, sample_events()[0])
    running = asyncio.create_task(relay.run(interval=0.01))
    await asyncio.wait_for(sink.entered.wait(), 5)
    stopping = asyncio.create_task(relay.stop(running))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # the sweep holds a publish; stopping waits for it
    sink.release.set()
    await asyncio.wait_for(stopping, 5)
    assert running.done()
    assert not running.cancelled()
    assert len(sink.published) == 1


async def test_committed_events_go_to_the_sink_before_any_other_transaction(db: Database, tables: Tables) -> None:
    sink = _HeldSink()
    outbox = Outbox(tables.outbox, _relay(db, tables, sink))
    transactions: list[str] = []
    event.listen(db.engine.sync_engine, "begin", lambda _connection: transactions.append("begin"))
    events = sample_events()[:3]

    async def move() -> None:
        async with db.transaction() as session:
            await outbox.add(session, *events)

    request = asyncio.create_task(move())
    await asyncio.wait_for(sink.entered.wait(), 5)
    # Handed over straight from the committed transaction: the rows are not read back first.
    assert transactions == ["begin"]
    await asyncio.sleep(0.05)
    assert not request.done()  # without ``background`` the caller waits for Pub/Sub's answer
    sink.release.set()
    await asyncio.wait_for(request, 5)
    await outbox.drain()
    assert transactions == ["begin", "begin"]  # then one transaction marks all three sent
    async with db.transaction() as session:
        sent = (await session.execute(select(tables.outbox.c.message_id).order_by(tables.outbox.c.seq))).scalars()
        assert list(sent) == ["1", "2", "3"]
    assert sink.event_ids() == [str(e.id) for e in events]


async def test_hand_overs_answered_within_the_mark_delay_share_one_transaction(db: Database, tables: Tables) -> None:
    sink = _HeldSink()
    outbox = Outbox(tables.outbox, _relay(db, tables, sink), background=True)
    events = sample_events()[:3]
    for change in events:  # three changes, each publishing one event in the background
        async with db.transaction() as session:
            await outbox.add(session, change)
    transactions: list[str] = []
    event.listen(db.engine.sync_engine, "begin", lambda _connection: transactions.append("begin"))
    sink.release.set()  # Pub/Sub answers all three at once
    await outbox.drain()
    assert len(transactions) == 1  # one transaction marks all three sent
    assert await _unsent(db, tables) == 0
    transactions.clear()
    async with db.transaction() as session:
        await outbox.add(session, sample_events()[3])  # answered after that write: marked by a write of its own
    await outbox.drain()
    assert len(transactions) == 2  # the change itself, then its mark
    assert await _unsent(db, tables) == 0
    assert await _relay(db, tables, sink).sweep() == 0


async def _unsent(db: Database, tables: Tables) -> int:
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(tables.outbox).where(tables.outbox.c.published_at.is_(None))
        )
    return int(count or 0)


async def test_an_event_staged_again_after_a_crash_is_kept_and_published_once(
    db: Database, tables: Tables, sink: RecordingSink
) -> None:
    first, second = sample_events()[:2]
    async with db.transaction() as session:
        await Outbox(tables.outbox, relay=None).add(session, first)  # committed, then the process died
    relay = _relay(db, tables, sink)
    async with db.transaction() as session:  # the redelivered message stages the same event with a new one
        await Outbox(tables.outbox, relay).add(session, first, second)
    assert sink.event_ids() == [str(second.id)]
    assert await relay.sweep() == 1
    assert sink.event_ids() == [str(second.id), str(first.id)]
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(tables.outbox)) == 2
