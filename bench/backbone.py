"""Event backbone: publish with the real client → emulator → push → a service's receiver → inbox commit.

Latency is the inbox's ``processed_at`` minus the event's ``occurred_at`` (set just before publishing),
so it covers the publisher's batching, the emulator, the push request and the consumer's transaction.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from agentworks_core.app import create_app
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS, inbox
from agentworks_events import AgentRunStarted
from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.threads import AppThread, EmulatorThread, free_port
from agentworks_platform.clock import as_utc
from agentworks_platform.db import Database
from agentworks_platform.migrations import upgrade
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_pubsub import EventPublisher, Topology, load_topology
from sqlalchemy import select, text

from bench.common import PUSHER, percentile, row, scratch, seed_project
from bench.pipeline import FIRST_LINE_P50, FIRST_LINE_P99

SEQUENTIAL = 300
BURST = 2000


def _core_only(topology: Topology) -> Topology:
    keep = [s for s in topology.subscriptions if s.name in ("core-agent-runs", "agent-runs-dead-letter-sub")]
    return topology.model_copy(update={"subscriptions": tuple(keep)})


def _event(ids: dict[str, UUID]) -> AgentRunStarted:
    """A run of the seeded project starting: core projects it (a new run row) in the push's transaction."""
    return AgentRunStarted(
        workspace_id=ids["workspace"],
        project_id=ids["project"],
        run_id=uuid4(),
        agent="prd",
        provider="offline",
        model="offline-small",
        trigger_event_id=uuid4(),
    )


async def _wait_for(url: str, count: int, limit_seconds: float = 120) -> None:
    db = Database(url)
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        async with db.transaction() as session:
            if (await session.scalar(text("SELECT COUNT(*) FROM inbox"))) >= count:
                break
        await asyncio.sleep(0.05)
    await db.dispose()


async def _publish_one_at_a_time(publisher: EventPublisher, ids: dict[str, UUID], count: int) -> list[AgentRunStarted]:
    """Each event is stamped right before it is published, 10 ms after the previous one was accepted."""
    events = []
    for _ in range(count):
        event = _event(ids)
        events.append(event)
        await publisher.publish(event)
        await asyncio.sleep(0.01)
    return events


def run() -> list[dict[str, Any]]:
    logging.disable(logging.INFO)
    work, _key_file, key = scratch("backbone")
    emulator = EmulatorThread(work / "pubsub.db", LocalTokenSigner(key, PUSHER)).start()
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
    url = f"sqlite+aiosqlite:///{work}/core.db"
    upgrade(MIGRATIONS, url)
    port = free_port()
    settings = CoreSettings(port=port, environment="test", database_url=url, dev_signing_key_file=work / "key.pem")
    app = AppThread(create_app(settings), port=port).start()
    topology = _core_only(load_topology())
    bootstrap(topology, topology.project, {"core": app.url}, PUSHER)
    try:
        ids = seed_project(app.url, key, Principal(uuid4(), "backbone@example.com"))
        return asyncio.run(_measure(url, ids))
    finally:
        app.stop()
        emulator.close()


async def _measure(url: str, ids: dict[str, UUID]) -> list[dict[str, Any]]:
    publisher = EventPublisher(load_topology().project)
    sequential = await _publish_one_at_a_time(publisher, ids, SEQUENTIAL)
    await _wait_for(url, SEQUENTIAL)
    processed = await _processed_by_id(url)
    latencies = [(processed[str(e.id)] - e.occurred_at).total_seconds() * 1000 for e in sequential]
    burst = [_event(ids) for _ in range(BURST)]
    started = time.perf_counter()
    await asyncio.gather(*(publisher.publish(e) for e in burst))
    await _wait_for(url, SEQUENTIAL + BURST)
    elapsed = time.perf_counter() - started
    await publisher.close()
    note = f"part of card move → first log line (p50 ≤ {FIRST_LINE_P50:.0f} ms, p99 ≤ {FIRST_LINE_P99:.0f} ms)"
    return [
        row("backbone delivery p50 (one at a time)", percentile(latencies, 50), "ms", note),
        row("backbone delivery p99 (one at a time)", percentile(latencies, 99), "ms", note),
        row(f"backbone throughput ({BURST} at once)", BURST / elapsed, "ev/s", "informational"),
    ]


async def _processed_by_id(url: str) -> dict[str, datetime]:
    db = Database(url)
    async with db.transaction() as session:
        rows = await session.execute(select(inbox.c.event_id, inbox.c.processed_at))
        result = {event_id: as_utc(at) for event_id, at in rows}
    await db.dispose()
    return result
