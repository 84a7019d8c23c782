"""Cards: moves within one lane of 200 cards at concurrency 16, through the gateway to core on PostgreSQL, each
to a random place in the lane (top, bottom or between): p99 and moves/second, then a check that the lane still
holds every card once, at positions 0…199. The yardstick, in the same run: as many title edits of the same cards
at the same concurrency, a request with the same authentication, transaction, audit row, event and board revision
as a move, writing one row with no move logic; a move's p99 cannot fall below it."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import httpx

from bench.common import percentile, row, scratch
from bench.gateway import CONCURRENCY, ORIGIN, _board, _load, core_and_gateway

CARDS = 200
MOVES = 1000
P99_BUDGET = 100.0


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

        async def move(client: httpx.AsyncClient) -> httpx.Response:
            body = {"lane_id": lane, "position": rng.randrange(CARDS)}
            return await client.put(f"/api/cards/{rng.choice(cards)}/move", json=body)

        async def edit(client: httpx.AsyncClient) -> httpx.Response:
            return await client.patch(f"/api/cards/{rng.choice(cards)}", json={"title": f"Edited {rng.random()}"})

        rate, latencies = asyncio.run(_load(gateway, cookies, move, MOVES, 0))
        _check(gateway, cookies, board, lane, cards)
        edit_rate, edit_latencies = asyncio.run(_load(gateway, cookies, edit, MOVES, 0))
    p99 = percentile(latencies, 99)
    return [
        row(f"card move in a {CARDS}-card lane, postgres, c={CONCURRENCY}", rate, "req/s", "informational"),
        row(f"yardstick: card title edit, same lane, c={CONCURRENCY}", edit_rate, "req/s", "informational"),
        row(f"yardstick: card title edit p99, same lane, c={CONCURRENCY}", percentile(edit_latencies, 99), "ms",
            "informational"),
        row(f"card move p99 in a {CARDS}-card lane, postgres, c={CONCURRENCY}", p99, "ms", f"≤ {P99_BUDGET:,.0f} ms",
            p99 <= P99_BUDGET),
    ]  # fmt: skip
