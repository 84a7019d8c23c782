"""Billing: usage events ingested idempotently on PostgreSQL, and the usage query over a 1M-row ledger.

Ingest publishes every event twice (the second copy is a duplicate, as a publisher's retry makes) to the
local Pub/Sub emulator with the real client, then starts billing under uvicorn as in production, its
workers pulling ``billing-usage-events`` in batches; the clock runs from the first batch billing claims
until every delivery is acknowledged and the ledger holds each event once. The budget is checked on
distinct events per second (duplicates are extra work on top). The query runs against a workspace whose
ledger holds one million rows spread over a year.
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from agentworks_billing.models import MIGRATIONS
from agentworks_core.app import create_app as create_core
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_events import Event, UsageRecorded, UsageRunSettled, settlement_id_for, to_message
from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.threads import AppThread, EmulatorThread, free_port
from agentworks_platform.migrations import upgrade
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_platform.testing import create_database, drop_database, postgres_server
from agentworks_pubsub import Topology, load_topology
from agentworks_pubsub.testing import RecordingSink
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.cloud.pubsub_v1.types import BatchSettings

from bench.common import PUSHER, percentile, row, scratch, seed_project, service_env, service_process

RUNS = 6000  # each run: two provider calls and one settlement → 18,000 events, 36,000 deliveries
TENANTS = 50
WORKERS = 2
LEDGER_ROWS = 1_000_000
INGEST_BUDGET = 2000.0
SUBSCRIPTION = "billing-usage-events"


def _usage_only(topology: Topology) -> Topology:
    keep = [s for s in topology.subscriptions if s.name in (SUBSCRIPTION, "usage-events-dead-letter-sub")]
    return topology.model_copy(update={"subscriptions": tuple(keep)})


def _events(tenants: list[tuple[uuid.UUID, uuid.UUID]]) -> list[Event]:
    """Runs spread over many workspaces (each a real workspace and project of core: billing checks them)."""
    now = datetime.now(UTC)
    events: list[Event] = []
    for index in range(RUNS):
        workspace, project = tenants[index % TENANTS]
        run, cost = uuid.uuid4(), Decimal("0.0021")
        for call in range(2):
            events.append(
                UsageRecorded(
                    workspace_id=workspace, project_id=project, run_id=run, agent="prd", provider="openai",
                    model="gpt-4o-mini", requested_provider="openai", input_tokens=900, output_tokens=300,
                    cost=cost, latency_ms=800, attempt=call + 1, outcome="success", occurred_at=now,
                )
            )  # fmt: skip
        events.append(
            UsageRunSettled(
                id=settlement_id_for(run), workspace_id=workspace, project_id=project, run_id=run, agent="prd",
                run_status="completed", cost=cost * 2, markup=Decimal(5), increment=Decimal("0.25"),
                unrounded_amount=cost * 10, price=Decimal("0.25"), provider_calls=2, occurred_at=now,
            )
        )  # fmt: skip
    return events


def _publish(events: list[Event]) -> None:
    """Both copies of every event, shuffled, through the real client with throughput batching."""
    client = pubsub_v1.PublisherClient(batch_settings=BatchSettings(max_messages=1000, max_latency=0.05))
    topic = client.topic_path(load_topology().project, "usage-events")
    messages = [to_message(e) for e in events for _ in range(2)]
    random.Random(5).shuffle(messages)
    futures = [client.publish(topic, m.data, **m.attributes) for m in messages]
    for future in futures:
        future.result(timeout=120)
    client.stop()


def _drain(database_url: str, emulator: EmulatorThread, events: list[Event]) -> float:
    """Seconds from billing's first claimed batch until the backlog is acknowledged and each event applied."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    assert emulator.emulator is not None
    store = emulator.emulator.store
    deadline = time.monotonic() + 600
    with psycopg.connect(dsn, autocommit=True) as connection:
        while True:
            applied = connection.execute("SELECT count(*) FROM inbox").fetchone()
            if applied and applied[0] >= len(events) and not sum(store.backlog().values()):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"billing applied {applied} of {len(events)} events in ten minutes")
            time.sleep(0.02)
        finished = datetime.now(UTC)
        first = connection.execute("SELECT min(processed_at) FROM inbox").fetchone()
        usage = connection.execute("SELECT count(*) FROM usage_records").fetchone()
        charges = connection.execute("SELECT count(*) FROM run_charges").fetchone()
    if (usage, charges) != ((RUNS * 2,), (RUNS,)):
        raise RuntimeError(f"ledger holds {usage} usage rows and {charges} charges for {RUNS} runs")
    assert first is not None
    return float((finished - first[0]).total_seconds())


def _load_ledger(database_url: str, workspace: uuid.UUID, project: uuid.UUID) -> None:
    """A year of ledger rows for one workspace, written with COPY (amounts in 1e-10 dollars)."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    start = datetime.now(UTC) - timedelta(days=364)
    agents, providers = ("prd", "architect", "qa", "dev_backend"), ("openai", "anthropic", "google")
    charges = LEDGER_ROWS // 5
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        usage_columns = (
            "event_id, workspace_id, project_id, run_id, card_id, agent, provider, model, requested_provider, "
            "input_tokens, output_tokens, images, cost, latency_ms, attempt, outcome, occurred_at, day"
        )
        with cursor.copy(f"COPY usage_records ({usage_columns}) FROM STDIN") as copy:
            for index in range(LEDGER_ROWS - charges):
                at = start + timedelta(seconds=index * 31)
                provider = providers[index % 3]
                copy.write_row(
                    (uuid.uuid4(), workspace, project, uuid.uuid4(), None, agents[index % 4], provider,
                     f"{provider}-model", provider, 1000, 400, 0, 21_000_000, 700, 1, "success", at, at.date())
                )  # fmt: skip
        charge_columns = (
            "run_id, event_id, workspace_id, project_id, card_id, agent, run_status, cost, markup, increment, "
            "unrounded_amount, price, provider_calls, occurred_at, day, period"
        )
        with cursor.copy(f"COPY run_charges ({charge_columns}) FROM STDIN") as copy:
            for index in range(charges):
                at = start + timedelta(seconds=index * 157)
                copy.write_row(
                    (uuid.uuid4(), uuid.uuid4(), workspace, project, None, agents[index % 4], "completed",
                     42_000_000, 50_000_000_000, 2_500_000_000, 210_000_000, 2_500_000_000, 2, at, at.date(),
                     at.strftime("%Y-%m"))
                )  # fmt: skip
        cursor.execute("ANALYZE usage_records")
        cursor.execute("ANALYZE run_charges")


def _query_times(url: str, key: bytes, owner: Principal, workspace: uuid.UUID, query: str) -> list[float]:
    token = LocalTokenSigner(key, dev_service_account("gateway")).sign(url)
    headers = {"authorization": f"Bearer {token}", **owner.headers()}
    times = []
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for _ in range(5):
            started = time.perf_counter()
            response = client.get(f"/api/workspaces/{workspace}/usage?{query}")
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"usage query failed: {response.status_code} {response.text[:200]}")
    return times


def run() -> list[dict[str, Any]]:
    logging.disable(logging.INFO)
    work, key_file, key = scratch("billing")
    core_db = f"sqlite+aiosqlite:///{work}/core.db"
    upgrade(CORE_MIGRATIONS, core_db)
    core_port = free_port()
    core_settings = CoreSettings(
        port=core_port, environment="test", database_url=core_db, dev_signing_key_file=key_file
    )
    core = AppThread(create_core(core_settings, sink=RecordingSink()), port=core_port).start()
    owner = Principal(uuid.uuid4(), "bench-owner@example.com")
    emulator = EmulatorThread(work / "pubsub.db", None).start()
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
    topology = _usage_only(load_topology())
    bootstrap(topology, topology.project, {}, PUSHER)
    with postgres_server() as admin:
        database_url = create_database(admin)
        try:
            upgrade(MIGRATIONS, database_url)
            ids = seed_project(core.url, key, owner)
            workspace, project = ids["workspace"], ids["project"]
            port = free_port()
            env = {
                **service_env("BILLING", port, database_url, key_file),
                "AW_BILLING_CORE_URL": core.url,
                "AW_BILLING_SCHEDULE_IN_PROCESS": "false",
                "PUBSUB_EMULATOR_HOST": emulator.host,
            }
            factory = "agentworks_billing.app:create_app"
            tenants = [
                (t["workspace"], t["project"]) for t in (seed_project(core.url, key, owner) for _ in range(TENANTS))
            ]
            events = _events(tenants)
            _publish(events)  # the backlog billing finds when it starts
            with service_process(factory, port, env, WORKERS, work / "billing.log") as url:
                seconds = _drain(database_url, emulator, events)
                _load_ledger(database_url, workspace, project)
                year = (datetime.now(UTC) - timedelta(days=364)).date().isoformat()
                query = f"start={year}&group_by=day&group_by=agent&group_by=provider&group_by=project"
                by_day = _query_times(url, key, owner, workspace, query)
        finally:
            drop_database(admin, database_url)
            core.stop()
            emulator.close()
    return [
        row(
            f"billing ingest, Postgres ({WORKERS} workers pulling): distinct events",
            len(events) / seconds,
            "ev/s",
            f"≥ {INGEST_BUDGET:,.0f} ev/s",
            len(events) / seconds >= INGEST_BUDGET,
        ),
        row(
            "billing ingest: deliveries (each event published twice)",
            2 * len(events) / seconds,
            "msg/s",
            "informational",
        ),
        row(
            f"usage query, {LEDGER_ROWS:,} ledger rows, year by day/agent/provider/project p50",
            percentile(by_day, 50),
            "ms",
            "informational",
        ),
    ]
