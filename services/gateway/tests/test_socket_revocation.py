"""Open WebSockets follow their credentials: revoking a key or a session closes every socket opened with it, on
every gateway instance, and no other; and a gateway without a database connection answers 503, never 500."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_gateway.apikeys import service as apikeys
from agentworks_gateway.app import create_app
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.models import MIGRATIONS
from agentworks_gateway.security import Caller
from agentworks_localstack.threads import AppThread
from agentworks_platform.db import Database
from agentworks_platform.principal import Principal
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from .conftest import ORIGIN, PASSWORD, Fleet


@pytest.fixture
async def log_stream() -> AsyncIterator[str]:
    """Stands in for log-stream: accepts every socket and keeps it open until the other side closes."""

    async def hold(connection: ServerConnection) -> None:
        await connection.wait_closed()

    async with serve(hold, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def gateways(
    migrated_database: Callable[[Path], str], dev_key_file: Path, log_stream: str
) -> Iterator[tuple[list[str], str]]:
    """Two gateway instances (own processes' worth of state, each on its own socket) sharing one database."""
    database = migrated_database(MIGRATIONS)
    settings = GatewaySettings(
        environment="test",
        dev_signing_key_file=dev_key_file,
        database_url=database,
        log_stream_url=log_stream,
        credential_check_seconds=0.05,
    )
    threads = [AppThread(create_app(settings)).start() for _ in range(2)]
    try:
        yield [thread.url for thread in threads], database
    finally:
        for thread in threads:
            thread.stop()


async def _sign_in(gateway: str, email: str, path: str) -> tuple[str, str]:
    """A new session of ``email`` (signing up first when ``path`` says so): its cookie and its id."""
    async with httpx.AsyncClient(base_url=gateway, headers={"origin": ORIGIN}) as browser:
        body = {"email": email, "password": PASSWORD, **({"name": "Ada"} if path.endswith("signup") else {})}
        response = await browser.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        cookie = f"aw_session={browser.cookies['aw_session']}"
        [current] = [s for s in (await browser.get("/api/auth/sessions")).json() if s["current"]]
    return cookie, current["id"]


async def _socket(gateway: str, headers: dict[str, str]) -> ClientConnection:
    url = gateway.replace("http", "ws", 1) + f"/api/boards/{uuid.uuid4()}/events"
    return await connect(url, additional_headers={"origin": ORIGIN, **headers}, open_timeout=10)


async def _closed_as_revoked(socket: ClientConnection) -> bool:
    await asyncio.wait_for(socket.wait_closed(), 10)
    return (socket.close_code, socket.close_reason) == (4401, "credentials revoked; sign in again")


def _caller(user_id: uuid.UUID, session_id: uuid.UUID) -> Caller:
    return Caller(Principal(user_id, "ada@example.com", None, "req", ""), "session", session_id)


async def _api_key(database: str, user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[str, Any]:
    db = Database(database)
    try:
        async with db.transaction() as session:
            key, secret = await apikeys.create(session, _caller(user_id, session_id), uuid.uuid4(), "CI")
    finally:
        await db.dispose()
    return secret, key


async def test_revoking_a_session_or_a_key_closes_its_sockets_on_every_instance(
    gateways: tuple[list[str], str],
) -> None:
    (a, b), database = gateways
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    first, first_id = await _sign_in(a, email, "/api/auth/signup")
    second, second_id = await _sign_in(b, email, "/api/auth/signin")
    async with httpx.AsyncClient(base_url=a, headers={"cookie": first}) as browser:
        user_id = uuid.UUID((await browser.get("/api/me")).json()["id"])
    secret, key = await _api_key(database, user_id, uuid.UUID(first_id))

    first_sockets = [await _socket(gateway, {"cookie": first}) for gateway in (a, b)]
    second_sockets = [await _socket(gateway, {"cookie": second}) for gateway in (a, b)]
    key_sockets = [await _socket(gateway, {"authorization": f"Bearer {secret}"}) for gateway in (a, b)]

    async with httpx.AsyncClient(base_url=a, headers={"origin": ORIGIN, "cookie": first}) as browser:
        assert (await browser.post("/api/auth/signout")).status_code == 204
    assert [await _closed_as_revoked(socket) for socket in first_sockets] == [True, True]

    async with httpx.AsyncClient(base_url=b, headers={"origin": ORIGIN, "cookie": second}) as browser:
        assert (await browser.delete(f"/api/auth/sessions/{second_id}")).status_code == 204
    assert [await _closed_as_revoked(socket) for socket in second_sockets] == [True, True]

    assert all(socket.close_code is None for socket in key_sockets)  # another credential's sockets stay open
    db = Database(database)
    try:
        async with db.transaction() as session:
            await apikeys.revoke(session, _caller(user_id, uuid.UUID(first_id)), "member", key.workspace_id, key.id)
    finally:
        await db.dispose()
    assert [await _closed_as_revoked(socket) for socket in key_sockets] == [True, True]


async def test_a_gateway_out_of_database_connections_answers_503_with_retry_after(fleet: Fleet) -> None:
    """The guard resolves the caller before any route: without a connection it must still answer the envelope."""
    browser, _ = await fleet.signed_up()
    starved = await fleet.gateway(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.05)
    if not starved.state.ctx.db.is_postgres:
        pytest.skip("SQLite has no connection pool to exhaust")
    client = await fleet.browser(starved)
    client.cookies = browser.cookies
    async with starved.state.ctx.db.transaction() as holder:  # the instance's only connection is taken
        await holder.execute(text("SELECT 1"))
        refused = await client.get("/api/me")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "database_busy"
    assert (await client.get("/api/me")).status_code == 200
