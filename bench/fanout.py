"""Log fan-out: 1,000 WebSocket clients on one log-stream instance receiving one run's lines.

Clients run in two separate processes (so the measuring side is not the bottleneck); each line's latency
is its receipt time minus the moment its batch was pushed to log-stream, on the shared monotonic clock.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import multiprocessing
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_events import AgentRunLog, AgentRunStarted, LogLine
from agentworks_localstack.threads import free_port
from agentworks_log_stream.models import MIGRATIONS as LOG_MIGRATIONS
from agentworks_platform.migrations import upgrade
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.testing import push_envelope
from websockets.asyncio.client import connect

from bench.common import (
    PUSHER,
    emulator_process,
    percentile,
    row,
    scratch,
    seed_project,
    service_env,
    service_process,
)

CLIENTS = 1000
PROCESSES = 2
BATCHES, LINES_PER_BATCH, BATCH_GAP = 20, 10, 0.05
P99_BUDGET = 100.0
SUBSCRIPTION = "log-stream-agent-runs"


async def _clients(url: str, headers: dict[str, str], count: int, total_lines: int, ready: Any) -> list[float]:
    received: list[float] = []
    sockets = []
    for _ in range(count):
        sockets.append(await connect(url, additional_headers=headers, max_queue=None))
    # These clients stand in for browsers on other machines: their own collector pausing must not be
    # measured as delivery latency (a full collection over 500 sockets takes 100-200 ms here).
    gc.disable()
    ready.put(count)

    async def listen(socket: Any) -> None:
        lines = 0
        while lines < total_lines:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
            arrived = time.perf_counter()
            batch = frame["lines"] if frame["type"] == "lines" else [frame] if frame["type"] == "line" else []
            for line in batch:
                lines += 1
                received.append(arrived)
                received.append(float(line["seq"]))

    await asyncio.gather(*(listen(s) for s in sockets))
    for socket in sockets:
        await socket.close()
    return received


def _client_process(url: str, headers: dict[str, str], count: int, total: int, ready: Any, results: Any) -> None:
    results.put(asyncio.run(_clients(url, headers, count, total, ready)))


def _push(client: httpx.Client, token: str, event: Any) -> None:
    response = client.post(
        f"/_events/{SUBSCRIPTION}",
        json=push_envelope(event, SUBSCRIPTION),
        headers={"authorization": f"Bearer {token}"},
    )
    response.raise_for_status()


def _run_lines(logs: str, key: bytes, ids: dict[str, uuid.UUID]) -> dict[int, float]:
    """Push run.started, then the log batches; returns each line's push time by seq."""
    token = LocalTokenSigner(key, PUSHER).sign(logs)
    base = {"workspace_id": ids["workspace"], "project_id": ids["project"], "card_id": ids["card"]}
    run = uuid.uuid4()
    sent: dict[int, float] = {}
    with httpx.Client(base_url=logs, timeout=60) as client:
        _push(client, token, AgentRunStarted(**base, run_id=run, agent="prd", provider="offline",
                                             model="offline-small", trigger_event_id=uuid.uuid4()))  # fmt: skip
        time.sleep(BATCH_GAP)  # an agent's first output follows its start (at the least, a model's first token)
        for batch in range(BATCHES):
            first = batch * LINES_PER_BATCH + 1
            lines = tuple(
                LogLine(seq=seq, at=datetime.now(UTC), text=f"line {seq}: the agent is thinking about the checkout")
                for seq in range(first, first + LINES_PER_BATCH)
            )
            pushed = time.perf_counter()
            _push(client, token, AgentRunLog(**base, run_id=run, agent="prd", lines=lines))
            sent.update(dict.fromkeys(range(first, first + LINES_PER_BATCH), pushed))
            time.sleep(BATCH_GAP)
    return sent


def run() -> list[dict[str, Any]]:
    logging.disable(logging.INFO)
    work, key_file, key = scratch("fanout")
    urls = {name: f"sqlite+aiosqlite:///{work}/{name}.db" for name in ("core", "logs")}
    upgrade(CORE_MIGRATIONS, urls["core"])
    upgrade(LOG_MIGRATIONS, urls["logs"])
    owner = Principal(uuid.uuid4(), "fanout@example.com")
    core_port, logs_port = free_port(), free_port()
    with emulator_process(work, key_file) as emulator:
        core_env = {"PUBSUB_EMULATOR_HOST": emulator, **service_env("CORE", core_port, urls["core"], key_file)}
        with service_process("agentworks_core.app:create_app", core_port, core_env) as core:
            ids = seed_project(core, key, owner, card=True)
            logs_env = {
                "PUBSUB_EMULATOR_HOST": emulator,
                **service_env("LOG_STREAM", logs_port, urls["logs"], key_file),
                "AW_LOG_STREAM_CORE_URL": core,
            }
            with service_process("agentworks_log_stream.app:create_app", logs_port, logs_env) as logs:
                return _measure(logs, key, owner, ids)


def _measure(logs: str, key: bytes, owner: Principal, ids: dict[str, uuid.UUID]) -> list[dict[str, Any]]:
    token = LocalTokenSigner(key, dev_service_account("gateway")).sign(logs)
    headers = {"authorization": f"Bearer {token}", **owner.headers()}
    url = logs.replace("http", "ws", 1) + f"/api/cards/{ids['card']}/terminal"
    total = BATCHES * LINES_PER_BATCH
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    share = CLIENTS // PROCESSES
    processes = [
        context.Process(target=_client_process, args=(url, headers, share, total, ready, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    connected = sum(ready.get(timeout=300) for _ in processes)
    time.sleep(1.0)
    started = time.perf_counter()
    sent = _run_lines(logs, key, ids)
    received = [results.get(timeout=300) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(30)
    latencies = [(pairs[i] - sent[int(pairs[i + 1])]) * 1000 for pairs in received for i in range(0, len(pairs), 2)]
    return [
        row(f"log fan-out delivery p50 ({connected} clients)", percentile(latencies, 50), "ms", "informational"),
        row(f"log fan-out delivery p99 ({connected} clients)", percentile(latencies, 99), "ms",
            f"≤ {P99_BUDGET:.0f} ms", percentile(latencies, 99) <= P99_BUDGET),
        row("log fan-out lines delivered per second", len(latencies) / elapsed, "lines/s", "informational"),
    ]  # fmt: skip
