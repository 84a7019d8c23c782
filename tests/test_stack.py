"""The event backbone end to end: the real client → the emulator → the services' push endpoints and pull
consumers."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentworks_events import Event, to_message, topic_of
from agentworks_events.samples import sample_events
from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.filters import compile_filter
from agentworks_localstack.fleet import FLEET, ServiceSpec
from agentworks_localstack.threads import AppThread, EmulatorThread, free_port
from agentworks_platform.db import Database
from agentworks_platform.migrations import upgrade
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_pubsub import EventPublisher, Outbox, OutboxRelay, load_topology
from agentworks_pubsub.testing import publish_all
from sqlalchemy import func, select, text

from .fleet_support import fleet_settings, settings_class_of

PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"
CONSUMERS = [
    spec
    for spec in FLEET
    if load_topology().push_subscriptions(spec.name) or load_topology().pull_subscriptions(spec.name)
]
pytestmark = pytest.mark.stack


class Stack:
    def __init__(self, emulator: EmulatorThread, urls: dict[str, str], apps: dict[str, AppThread]) -> None:
        self.emulator = emulator
        self.urls = urls
        self.apps = apps
        self.topology = load_topology()

    def inbox(self, spec: ServiceSpec) -> list[tuple[str, str, str]]:
        async def read() -> list[tuple[str, str, str]]:
            db = Database(self.urls[spec.name])
            try:
                async with db.transaction() as session:
                    rows = await session.execute(text("SELECT subscription, event_id, event_type FROM inbox"))
                    return [(r[0], r[1], r[2]) for r in rows]
            finally:
                await db.dispose()

        return asyncio.run(read())

    def expected(self, spec: ServiceSpec, events: list[Event]) -> set[tuple[str, str, str]]:
        wanted = set()
        for sub in self.topology.push_subscriptions(spec.name) + self.topology.pull_subscriptions(spec.name):
            accepts = compile_filter(sub.filter)
            for event in events:
                if topic_of(event) == sub.topic and accepts(to_message(event).attributes):
                    wanted.add((sub.name, str(event.id), event.type))
        return wanted

    def wait_for_inboxes(self, events: list[Event], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for spec in CONSUMERS:
            expected = self.expected(spec, events)
            while not expected <= set(self.inbox(spec)):
                if time.monotonic() > deadline:
                    missing = expected - set(self.inbox(spec))
                    raise AssertionError(f"{spec.name} never received {sorted(missing)[:3]}")
                time.sleep(0.05)

    def backlog(self) -> int:
        assert self.emulator.emulator is not None
        return sum(self.emulator.emulator.store.backlog().values())


@pytest.fixture
def stack(
    migrated_database: Callable[[Path], str], tmp_path: Path, dev_key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    key_path = dev_key_file
    key = key_path.read_bytes()
    emulator = EmulatorThread(tmp_path / "pubsub.db", LocalTokenSigner(key, PUSHER)).start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.host)
    urls: dict[str, str] = {}
    apps: dict[str, AppThread] = {}
    ports = {spec.name: free_port() for spec in CONSUMERS}
    peers = {f"{name.replace('-', '_')}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        for spec in CONSUMERS:
            urls[spec.name] = migrated_database(spec.migrations)
            module: Any = importlib.import_module(f"{spec.package}.app")
            settings_class = settings_class_of(spec)
            known = {k: v for k, v in peers.items() if k in settings_class.model_fields}
            settings = fleet_settings(
                settings_class,
                tmp_path / spec.name,
                port=ports[spec.name],
                environment="test",
                database_url=urls[spec.name],
                dev_signing_key_file=key_path,
                **known,
            )
            apps[spec.name] = AppThread(module.create_app(settings), port=ports[spec.name]).start()
        topology = load_topology()
        bootstrap(topology, topology.project, {n: a.url for n, a in apps.items()}, PUSHER)
        yield Stack(emulator, urls, apps)
    finally:
        for app in apps.values():
            app.stop()
        emulator.close()


def _publish(events: list[Event]) -> None:
    asyncio.run(publish_all(events))


def test_each_subscribed_service_receives_each_event_type_exactly_once(stack: Stack) -> None:
    events = sample_events()
    _publish(events)
    _publish(events)  # a publisher retry publishes everything a second time
    stack.wait_for_inboxes(events)
    deadline = time.monotonic() + 10
    while stack.backlog() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.backlog() == 0
    for spec in CONSUMERS:
        rows = stack.inbox(spec)
        assert len(rows) == len(set(rows))
        assert set(rows) == stack.expected(spec, events), spec.name
    received_types = {t for spec in CONSUMERS for _, _, t in stack.inbox(spec)}
    assert received_types == {e.type for e in events}


def test_outbox_relay_heals_a_crash_and_consumers_see_the_event_once(stack: Stack, tmp_path: Path) -> None:
    from agentworks_core import models as core_models

    url = f"sqlite+aiosqlite:///{tmp_path}/producer.db"
    upgrade(Path(core_models.MIGRATIONS), url)
    events = [e for e in sample_events() if topic_of(e) == "card-events"][:3]

    async def crash_then_relay() -> int:
        db = Database(url)
        try:
            async with db.transaction() as session:
                await Outbox(core_models.outbox).add(session, *events)  # the process dies before publishing
            publisher = EventPublisher(load_topology().project)
            relay = OutboxRelay(db, core_models.outbox, publisher)
            healed = await relay.sweep(now=events[-1].occurred_at.replace(year=2100))
            again = await relay.sweep(now=events[-1].occurred_at.replace(year=2100))
            await publisher.close()
            async with db.transaction() as session:
                unpublished = await session.scalar(
                    select(func.count())
                    .select_from(core_models.outbox)
                    .where(core_models.outbox.c.published_at.is_(None))
                )
            assert again == 0
            assert unpublished == 0
            return healed
        finally:
            await db.dispose()

    assert asyncio.run(crash_then_relay()) == 3
    stack.wait_for_inboxes(events)
    time.sleep(0.3)
    for spec in CONSUMERS:
        assert set(stack.inbox(spec)) == stack.expected(spec, events)
