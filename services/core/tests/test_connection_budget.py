"""A core instance out of database connections answers 503 with Retry-After, never 500, and saves no part of
a move it refused: whether its own pool is empty or the server turns new connections away.

The module runs on a PostgreSQL server of its own with a low ``max_connections``, as a production server
that every instance's pool must fit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from agentworks_core.app import create_app
from agentworks_core.config import CoreSettings
from agentworks_events import CardMoved
from agentworks_platform.testing import private_postgres_server
from agentworks_pubsub.testing import RecordingSink
from sqlalchemy import text

from .conftest import CORE_URL, Core

MAX_CONNECTIONS = 20
INSTANCES = 4  # each with the default pool (5 + 2 overflow): 28 connections wanted, 17 to be had


@pytest.fixture(scope="module")
def postgres_admin(templates: Any) -> Iterator[str]:
    with private_postgres_server(max_connections=MAX_CONNECTIONS) as dsn:
        yield dsn
    templates.forget(dsn)


@pytest.fixture
async def starved(core: Core) -> AsyncIterator[tuple[Core, RecordingSink]]:
    """A second core instance on the same database with a pool of one connection and a short wait for it."""
    settings: CoreSettings = core.app.state.ctx.settings
    if not core.app.state.ctx.db.is_postgres:
        pytest.skip("SQLite has no connection pool to exhaust")
    tight = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.05})
    sink = RecordingSink()
    app = create_app(tight, sink=sink)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=CORE_URL) as client:
            harness = Core(client, sink, core.signer, core.pusher)
            harness.app = app
            yield harness, sink


async def test_a_burst_beyond_the_connection_budget_answers_503_and_never_half_saves_a_move(
    core: Core, starved: tuple[Core, RecordingSink]
) -> None:
    tight, sink = starved
    world = await core.world()
    a = world.ids["a"]
    cards = [
        (await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": f"c{n}"}))["id"]
        for n in range(25)
    ]

    def move(card: str) -> Any:
        return tight.call("PUT", f"/api/cards/{card}/move", world.member, {"lane_id": a["lanes"][2]})

    async with tight.app.state.ctx.db.transaction() as holder:  # the instance's only connection is taken
        await holder.execute(text("SELECT 1"))
        refused = await asyncio.gather(*(move(card) for card in cards[:5]))
    burst = await asyncio.gather(*(move(card) for card in cards[5:]))

    assert [r.status_code for r in refused] == [503] * 5
    assert {r.status_code for r in burst} <= {200, 503}
    for response in (*refused, *burst):
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "database_busy"
            assert response.headers["retry-after"] == "1"
    accepted = {card for card, r in zip(cards, (*refused, *burst), strict=True) if r.status_code == 200}
    assert accepted  # the pool serves again once its connection is free
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    assert {c["id"] for c in board["lanes"][2]["cards"]} == accepted
    assert [c["position"] for c in board["lanes"][2]["cards"]] == list(range(len(accepted)))
    moved = [e for e in sink.events() if isinstance(e, CardMoved)]
    assert sorted(str(e.card_id) for e in moved) == sorted(accepted)


async def test_a_burst_the_server_turns_away_answers_503_and_never_half_saves_a_move(
    core: Core, postgres_admin: str
) -> None:
    if not core.app.state.ctx.db.is_postgres:
        pytest.skip("SQLite has no connection limit")
    world = await core.world()
    a = world.ids["a"]
    cards = [
        (await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": f"c{n}"}))["id"]
        for n in range(40)
    ]
    core.sink.published.clear()
    settings: CoreSettings = core.app.state.ctx.settings
    async with AsyncExitStack() as instances:
        fleet = [core]
        for _ in range(INSTANCES - 1):
            sink = RecordingSink()
            app = create_app(settings, sink=sink)
            await instances.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            client = await instances.enter_async_context(httpx.AsyncClient(transport=transport, base_url=CORE_URL))
            fleet.append(Core(client, sink, core.signer))
            fleet[-1].app = app
        with _hogged(postgres_admin, spare=4):  # what the rest of the fleet (other services, jobs) holds
            moves = (
                fleet[n % INSTANCES].call("PUT", f"/api/cards/{card}/move", world.member, {"lane_id": a["lanes"][2]})
                for n, card in enumerate(cards)
            )
            burst = await asyncio.gather(*moves)
    statuses = [r.status_code for r in burst]
    # The server refused some and served the rest; a move that met another re-keying the lane is told to retry.
    assert {200, 503} <= set(statuses) <= {200, 409, 503}, statuses
    for response in burst:
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "database_busy"
            assert response.headers["retry-after"] == "1"
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "concurrent_move"
    accepted = {card for card, r in zip(cards, burst, strict=True) if r.status_code == 200}
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    assert {c["id"] for c in board["lanes"][2]["cards"]} == accepted
    assert [c["position"] for c in board["lanes"][2]["cards"]] == list(range(len(accepted)))
    # Every instance's outbox relay publishes from the shared table: an event may go out through two of them.
    moved = {e.id: e for instance in fleet for e in instance.sink.events() if isinstance(e, CardMoved)}
    assert sorted(str(e.card_id) for e in moved.values()) == sorted(accepted)


@contextmanager
def _hogged(admin_dsn: str, spare: int) -> Iterator[None]:
    """Take every connection the server allows but ``spare`` until the block ends."""
    with psycopg.connect(admin_dsn, autocommit=True) as probe:
        row = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchone()
    assert row is not None
    held = [psycopg.connect(admin_dsn, autocommit=True) for _ in range(MAX_CONNECTIONS - int(row[0]) - spare)]
    try:
        yield
    finally:
        for connection in held:
            connection.close()
