"""Event pipeline: card move (HTTP, through the gateway) → agent.run.started → first log line at a
subscribed terminal WebSocket → run completed, with the offline provider, on the fleet as `make dev`
starts it (each service its own uvicorn process, the local Pub/Sub emulator, SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from agentworks_localstack.dev_process import dev_fleet as fleet_process
from agentworks_localstack.fleet import free_port_offset
from websockets.asyncio.client import connect

from bench.common import percentile, row

MOVES = 400
ORIGIN = "http://localhost:8080"
FIRST_LINE_P50, FIRST_LINE_P99 = 100.0, 200.0


@contextlib.contextmanager
def dev_fleet(work: Path, extra_env: dict[str, str]) -> Iterator[str]:
    """`make dev`'s supervisor in a scratch directory on free ports; yields the gateway's URL."""
    env = {**os.environ, **extra_env, "PYTHONUNBUFFERED": "1"}
    with fleet_process(work, free_port_offset(), env) as gateway:
        yield gateway


def _setup(client: httpx.Client) -> tuple[str, list[str]]:
    signup = client.post("/api/auth/signup", json={"email": "bench@example.com", "password": "correct horse battery"})
    signup.raise_for_status()
    workspace = client.post("/api/workspaces", json={"name": "Bench"}).json()
    project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Pipeline"}).json()
    lanes = [lane["id"] for lane in client.get(f"/api/boards/{project['board_id']}").json()["lanes"]]
    return project["id"], lanes


async def _one_move(gateway: str, client: httpx.AsyncClient, project: str, lanes: list[str]) -> dict[str, float]:
    card = (await client.post(f"/api/projects/{project}/cards", json={"title": "Bench card"})).json()
    url = gateway.replace("http", "ws", 1) + f"/api/cards/{card['id']}/terminal"
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    marks: dict[str, float] = {}
    async with connect(url, additional_headers={"cookie": cookie}, origin=ORIGIN) as socket:  # type: ignore[arg-type]
        started = time.perf_counter()
        moved = await client.put(f"/api/cards/{card['id']}/move", json={"lane_id": lanes[1]})
        moved.raise_for_status()
        marks["moved"] = time.perf_counter() - started
        while "done" not in marks:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
            now = time.perf_counter() - started
            if frame["type"] == "status" and frame["status"] == "running":
                marks.setdefault("started", now)
            elif frame["type"] in ("line", "lines"):
                marks.setdefault("first_line", now)
            elif frame["type"] == "status" and frame["status"] in ("completed", "failed", "cancelled"):
                marks["done"] = now
    await client.put(f"/api/cards/{card['id']}/move", json={"lane_id": lanes[8]})
    return {k: v * 1000 for k, v in marks.items()}


async def _measure(gateway: str, cookies: httpx.Cookies, project: str, lanes: list[str]) -> list[dict[str, float]]:
    async with httpx.AsyncClient(base_url=gateway, headers={"origin": ORIGIN}, cookies=cookies, timeout=30) as client:
        for _ in range(5):  # warm-up: connections, caches, SQLite pages
            await _one_move(gateway, client, project, lanes)
        return [await _one_move(gateway, client, project, lanes) for _ in range(MOVES)]


def run() -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="aw-bench-pipeline-"))
    env = {
        "AW_ORCHESTRATOR_RUNS_PER_HOUR": "1000000",
        "AW_GATEWAY_REQUESTS_PER_HOUR": "1000000",
        "AW_BILLING_SCHEDULE_IN_PROCESS": "false",
        "AW_PROVIDER_ROUTER_OFFLINE_TOKEN_DELAY": "0",
        "AW_CORE_LOG_LEVEL": "WARNING",
    }
    with dev_fleet(work, env) as gateway:
        with httpx.Client(base_url=gateway, headers={"origin": ORIGIN}, timeout=30) as client:
            project, lanes = _setup(client)
            cookies = client.cookies
        moves = asyncio.run(_measure(gateway, cookies, project, lanes))
    return _rows(moves)


def _rows(moves: list[dict[str, float]]) -> list[dict[str, Any]]:
    def p(key: str, q: float) -> float:
        return percentile([m[key] for m in moves if key in m], q)

    first_p50, first_p99 = p("first_line", 50), p("first_line", 99)
    return [
        row(f"card move → run started p50 ({sum('started' in m for m in moves)} of {MOVES} moves seen running)",
            p("started", 50), "ms", "informational"),
        row("card move → first log line at the WebSocket p50", first_p50, "ms", f"≤ {FIRST_LINE_P50:.0f} ms",
            first_p50 <= FIRST_LINE_P50),
        row("card move → first log line at the WebSocket p99", first_p99, "ms", f"≤ {FIRST_LINE_P99:.0f} ms",
            first_p99 <= FIRST_LINE_P99),
        row("card move → run completed p50", p("done", 50), "ms", "informational"),
        row("card move HTTP answer p50", p("moved", 50), "ms", "informational"),
    ]  # fmt: skip
