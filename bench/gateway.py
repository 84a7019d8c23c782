"""Gateway: board read (9 lanes × 200 cards) and card move through the gateway to core, requests/second
and p99 at fixed concurrency, on SQLite and on PostgreSQL. Each service runs under uvicorn in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_gateway.models import MIGRATIONS as GATEWAY_MIGRATIONS
from agentworks_localstack.threads import free_port
from agentworks_platform.migrations import upgrade
from agentworks_platform.testing import create_database, drop_database, postgres_server

from bench.common import emulator_process, percentile, row, scratch, service_env, service_process

CARDS_PER_LANE = 200
CONCURRENCY = 16
READ_SECONDS = 10.0
MOVES = 1000
BOARD_BUDGET = 100.0
ORIGIN = "http://localhost:8080"


@contextlib.contextmanager
def _databases(backend: str, work: Path) -> Iterator[dict[str, str]]:
    if backend == "sqlite":
        urls = {name: f"sqlite+aiosqlite:///{work}/{name}.db" for name in ("core", "gateway")}
        yield urls
        return
    with postgres_server() as admin:
        urls = {name: create_database(admin) for name in ("core", "gateway")}
        try:
            yield urls
        finally:
            for url in urls.values():
                drop_database(admin, url)


def _board(client: httpx.Client) -> tuple[str, list[str], list[str]]:
    signup = client.post("/api/auth/signup", json={"email": "bench@example.com", "password": "correct horse battery"})
    signup.raise_for_status()
    workspace = client.post("/api/workspaces", json={"name": "Bench"}).json()
    project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Board"}).json()
    lanes = [lane["id"] for lane in client.get(f"/api/boards/{project['board_id']}").json()["lanes"]]
    return project["id"], lanes, [project["board_id"]]


async def _fill(gateway: str, cookies: httpx.Cookies, project: str, lanes: list[str]) -> list[str]:
    async with httpx.AsyncClient(base_url=gateway, headers={"origin": ORIGIN}, cookies=cookies, timeout=60) as client:
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def create(lane: str, index: int) -> str:
            async with semaphore:
                body = {"title": f"Card {index}", "description": "A card on a busy board.", "lane_id": lane}
                response = await client.post(f"/api/projects/{project}/cards", json=body)
                response.raise_for_status()
                return str(response.json()["id"])

        return list(await asyncio.gather(*(create(lane, i) for lane in lanes for i in range(CARDS_PER_LANE))))


async def _load(
    gateway: str, cookies: httpx.Cookies, request: Any, count: int | None, seconds: float
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=gateway, headers={"origin": ORIGIN}, cookies=cookies, timeout=60, limits=limits
    ) as client:
        started = time.perf_counter()
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while (remaining is None and time.perf_counter() - started < seconds) or (remaining or 0) > 0:
                if remaining is not None:
                    remaining -= 1
                began = time.perf_counter()
                response = await request(client)
                if response.is_error:
                    response.raise_for_status()
                latencies.append((time.perf_counter() - began) * 1000)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


@contextlib.contextmanager
def core_and_gateway(backend: str, work: Path, key_file: Path) -> Iterator[str]:
    """Core and the gateway in front of it, each under uvicorn in a process of its own on migrated databases of
    ``backend``, beside a Pub/Sub emulator: yields the gateway's address."""
    with _databases(backend, work) as urls, emulator_process(work, key_file) as emulator:
        upgrade(CORE_MIGRATIONS, urls["core"])
        upgrade(GATEWAY_MIGRATIONS, urls["gateway"])
        core_port, gateway_port = free_port(), free_port()
        common = {"PUBSUB_EMULATOR_HOST": emulator}
        core_env = {**common, **service_env("CORE", core_port, urls["core"], key_file)}
        with service_process("agentworks_core.app:create_app", core_port, core_env, log=work / "core.log") as core:
            gateway_env = {
                **common,
                **service_env("GATEWAY", gateway_port, urls["gateway"], key_file),
                "AW_GATEWAY_CORE_URL": core,
                "AW_GATEWAY_REQUESTS_PER_HOUR": "100000000",
            }
            factory = "agentworks_gateway.app:create_app"
            with service_process(factory, gateway_port, gateway_env, log=work / "gateway.log") as gateway:
                yield gateway


def _measure(backend: str) -> list[dict[str, Any]]:
    work, key_file, _key = scratch(f"gateway-{backend}")
    with core_and_gateway(backend, work, key_file) as gateway:
        with httpx.Client(base_url=gateway, headers={"origin": ORIGIN}, timeout=60) as client:
            project, lanes, (board,) = _board(client)
            cookies = client.cookies
        cards = asyncio.run(_fill(gateway, cookies, project, lanes))
        rng = random.Random(1)

        async def read(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get(f"/api/boards/{board}")

        etag = httpx.get(f"{gateway}/api/boards/{board}", cookies=cookies, headers={"origin": ORIGIN})
        revalidate_headers = {"if-none-match": etag.headers["etag"]}

        async def revalidate(client: httpx.AsyncClient) -> httpx.Response:
            response = await client.get(f"/api/boards/{board}", headers=revalidate_headers)
            assert response.status_code == 304, response.status_code
            return response

        async def move(client: httpx.AsyncClient) -> httpx.Response:
            body = {"lane_id": rng.choice(lanes[4:]), "position": 0}
            return await client.put(f"/api/cards/{rng.choice(cards)}/move", json=body)

        asyncio.run(_load(gateway, cookies, read, 50, 0))
        read_rate, read_latencies = asyncio.run(_load(gateway, cookies, read, None, READ_SECONDS))
        check_rate, check_latencies = asyncio.run(_load(gateway, cookies, revalidate, None, READ_SECONDS))
        move_rate, move_latencies = asyncio.run(_load(gateway, cookies, move, MOVES, 0))
    size = f"{len(lanes)} lanes × {CARDS_PER_LANE} cards"
    return [
        row(f"board read ({size}), {backend}, c={CONCURRENCY}", read_rate, "req/s", f"≥ {BOARD_BUDGET:,.0f} req/s",
            read_rate >= BOARD_BUDGET),
        row(f"board read p99, {backend}", percentile(read_latencies, 99), "ms", "informational"),
        row(f"board revalidation (If-None-Match → 304), {backend}, c={CONCURRENCY}", check_rate, "req/s",
            "informational"),
        row(f"board revalidation p99, {backend}", percentile(check_latencies, 99), "ms", "informational"),
        row(f"card move, {backend}, c={CONCURRENCY}", move_rate, "req/s", "informational"),
        row(f"card move p99, {backend}", percentile(move_latencies, 99), "ms", "informational"),
    ]  # fmt: skip


def run() -> list[dict[str, Any]]:
    logging.disable(logging.INFO)
    rows: list[dict[str, Any]] = []
    for backend in ("sqlite", "postgres"):
        rows += _measure(backend)
    return rows
