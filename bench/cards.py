"""Cards: moves within one lane of 200 cards at concurrency 16, through the gateway to core on PostgreSQL, each
to a random place in the lane (top, bottom or between): p99 and moves/second, then a check that the lane still
holds every card once, at positions 0…199.

Two yardsticks share the run, each through the same gateway, session and authorisation at the same concurrency:
a read of one of the lane's cards (the floor of any authenticated request), and a title edit of one (the same
transaction, audit row, event and board revision as a move, writing one row with no move logic: a move's p99
cannot fall below it). The three take turns in rounds, so that each meets the same load from whatever else runs on
the machine; the load average before and after is printed beside them."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.common import percentile, row, scratch
from bench.gateway import CONCURRENCY, ORIGIN, _board, _load, core_and_gateway

CARDS = 200
MOVES = 1000
ROUNDS = 4
P99_BUDGET = 100.0

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def _fill(gateway: str, cookies: httpx.Cookies, project: str, lane: str) -> list[str]:
    async with httpx.AsyncClient(base_url=gateway, headers={"origin": ORIGIN}, cookies=cookies, timeout=60) as client:
        made = []
        for index in range(CARDS):  # one at a time: the lane's order is the order they were made in
            body = {"title": f"Card {index}", "lane_id": lane}
            made.append(
                str((await client.post(f"/api/projects/{project}/cards", json=body)).raise_for_status().json()["id"])
            )
        return made


def _check(gateway: str, cookies: httpx.Cookies, board: str, lane: str, cards: list[str]) -> None:
    shown = httpx.get(f"{gateway}/api/boards/{board}", cookies=cookies, headers={"origin": ORIGIN}, timeout=60)
    held = next(x["cards"] for x in shown.raise_for_status().json()["lanes"] if x["id"] == lane)
    if sorted(c["id"] for c in held) != sorted(cards) or [c["position"] for c in held] != list(range(CARDS)):
        raise RuntimeError("after the moves the lane does not hold every card once at positions 0…199")


def _in_rounds(gateway: str, cookies: httpx.Cookies, kinds: dict[str, Request]) -> dict[str, tuple[float, list[float]]]:
    """Each kind of request ``MOVES`` times at ``CONCURRENCY``, the kinds taking turns in ``ROUNDS`` rounds: each
    kind's requests/second over its own turns, and every latency (ms)."""
    seconds = dict.fromkeys(kinds, 0.0)
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _round in range(ROUNDS):
        for kind, request in kinds.items():
            rate, measured = asyncio.run(_load(gateway, cookies, request, MOVES // ROUNDS, 0))
            seconds[kind] += len(measured) / rate
            latencies[kind] += measured
    return {kind: (len(latencies[kind]) / seconds[kind], latencies[kind]) for kind in kinds}


def run() -> list[dict[str, Any]]:
    logging.disable(logging.INFO)
    work, key_file, _key = scratch("cards")
    with core_and_gateway("postgres", work, key_file) as gateway:
        with httpx.Client(base_url=gateway, headers={"origin": ORIGIN}, timeout=60) as client:
            project, lanes, (board,) = _board(client)
            cookies = client.cookies
        lane = lanes[5]
        cards = asyncio.run(_fill(gateway, cookies, project, lane))
        rng = random.Random(1)

        async def read(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get(f"/api/cards/{rng.choice(cards)}")

        async def edit(client: httpx.AsyncClient) -> httpx.Response:
            return await client.patch(f"/api/cards/{rng.choice(cards)}", json={"title": f"Edited {rng.random()}"})

        async def move(client: httpx.AsyncClient) -> httpx.Response:
            body = {"lane_id": lane, "position": rng.randrange(CARDS)}
            return await client.put(f"/api/cards/{rng.choice(cards)}/move", json=body)

        load_before = os.getloadavg()[0]
        measured = _in_rounds(gateway, cookies, {"read": read, "edit": edit, "move": move})
        load_after = os.getloadavg()[0]
        _check(gateway, cookies, board, lane, cards)
    (_, reads), (edit_rate, edits), (rate, moves) = measured["read"], measured["edit"], measured["move"]
    p99 = percentile(moves, 99)
    where = f"same lane, c={CONCURRENCY}"
    return [
        row("load average (1 min) before the cards part", load_before, "", "informational"),
        row("load average (1 min) after the cards part", load_after, "", "informational"),
        row(f"yardstick: card read p50, {where}", percentile(reads, 50), "ms", "informational"),
        row(f"yardstick: card read p99, {where}", percentile(reads, 99), "ms", "informational"),
        row(f"yardstick: card title edit, {where}", edit_rate, "req/s", "informational"),
        row(f"yardstick: card title edit p50, {where}", percentile(edits, 50), "ms", "informational"),
        row(f"yardstick: card title edit p99, {where}", percentile(edits, 99), "ms", "informational"),
        row(f"card move in a {CARDS}-card lane, postgres, c={CONCURRENCY}", rate, "req/s", "informational"),
        row(f"card move p50 in a {CARDS}-card lane, postgres, c={CONCURRENCY}", percentile(moves, 50), "ms",
            "informational"),
        row(f"card move p99 in a {CARDS}-card lane, postgres, c={CONCURRENCY}", p99, "ms", f"≤ {P99_BUDGET:,.0f} ms",
            p99 <= P99_BUDGET),
    ]  # fmt: skip
