"""Billing: usage events ingested idempotently on PostgreSQL, and the usage query over a 1M-row ledger.

Ingest pushes every event twice (the second delivery is a duplicate, as Pub/Sub may send) to billing
running under uvicorn as in production; the rate counts deliveries answered. The query runs against a
workspace whose ledger holds one million rows spread over a year.
"""

from __future__ import annotations

import asyncio
import logging
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
from agentworks_events import Event, UsageRecorded, UsageRunSettled, settlement_id_for
from agentworks_localstack.threads import AppThread, free_port
from agentworks_platform.migrations import upgrade
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_platform.testing import create_database, drop_database, postgres_server
from agentworks_pubsub.testing import RecordingSink, push_envelope

from bench.common import PUSHER, percentile, row, scratch, service_env, service_process

RUNS = 6000  # each run: two provider calls and one settlement → 18,000 events, 36,000 deliveries
TENANTS = 50
CONCURRENCY = 64
WORKERS = 2
LEDGER_ROWS = 1_000_000
INGEST_BUDGET = 2000.0
SUBSCRIPTION = "billing-usage-events"


def _events() -> list[Event]:
    """Runs spread over many workspaces, as a multi-tenant fleet sees them."""
    now = datetime.now(UTC)
    tenants = [(uuid.uuid4(), uuid.uuid4()) for _ in range(TENANTS)]
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


async def _ingest(url: str, key: bytes, events: list[Event]) -> tuple[float, int]:
    token = LocalTokenSigner(key, PUSHER).sign(url)
    bodies = [push_envelope(e, SUBSCRIPTION) for e in events for _ in range(2)]
    random.Random(5).shuffle(bodies)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    failures = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        headers = {"authorization": f"Bearer {token}"}

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                body = queue.get_nowait()
                try:
                    response = await client.post(f"/_events/{SUBSCRIPTION}", json=body, headers=headers)
                except httpx.TransportError:
                    queue.put_nowait(body)  # redelivered, as Pub/Sub would
                    continue
                if response.status_code != 204:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed, failures


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


def _seed_core(core_url: str, key: bytes, owner: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    token = LocalTokenSigner(key, dev_service_account("gateway")).sign(core_url)
    headers = {"authorization": f"Bearer {token}", **owner.headers()}
    with httpx.Client(base_url=core_url, headers=headers, timeout=30) as client:
        workspace = client.post("/api/workspaces", json={"name": "Bench"}).json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Bench"}).json()
    return uuid.UUID(workspace["id"]), uuid.UUID(project["id"])


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
    with postgres_server() as admin:
        database_url = create_database(admin)
        try:
            upgrade(MIGRATIONS, database_url)
            workspace, project = _seed_core(core.url, key, owner)
            port = free_port()
            env = {
                **service_env("BILLING", port, database_url, key_file),
                "AW_BILLING_CORE_URL": core.url,
                "AW_BILLING_SCHEDULE_IN_PROCESS": "false",
                "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
            }
            factory = "agentworks_billing.app:create_app"
            with service_process(factory, port, env, WORKERS, work / "billing.log") as url:
                rate, failures = asyncio.run(_ingest(url, key, _events()))
                if failures:
                    raise RuntimeError(f"{failures} deliveries were not acknowledged (see {work / 'billing.log'})")
                _load_ledger(database_url, workspace, project)
                year = (datetime.now(UTC) - timedelta(days=364)).date().isoformat()
                query = f"start={year}&group_by=day&group_by=agent&group_by=provider&group_by=project"
                by_day = _query_times(url, key, owner, workspace, query)
        finally:
            drop_database(admin, database_url)
            core.stop()
    return [
        row(
            f"billing ingest, Postgres ({WORKERS} workers, each event twice)",
            rate,
            "ev/s",
            f"≥ {INGEST_BUDGET:,.0f} ev/s",
            rate >= INGEST_BUDGET,
        ),
        row(
            f"usage query, {LEDGER_ROWS:,} ledger rows, year by day/agent/provider/project p50",
            percentile(by_day, 50),
            "ms",
            "informational",
        ),
    ]
