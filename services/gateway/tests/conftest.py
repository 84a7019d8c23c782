from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from agentworks_core.app import create_app as create_core
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_gateway.app import create_app as create_gateway
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.models import MIGRATIONS as GATEWAY_MIGRATIONS
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.peer_stub import Answer, PeerStub
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.testing import RecordingSink
from fastapi import FastAPI

ORIGIN = "http://localhost:8080"
PASSWORD = "correct horse battery"
ROUTER_URL = "http://127.0.0.1:8083"
MODELS = [{"id": "offline-small", "owned_by": "offline", "object": "model", "created": 0}]


class Recorder(httpx.AsyncBaseTransport):
    """Stands between the gateway and one service: records each request, then hands it on or answers as the service."""

    def __init__(self, service: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.service = service
        self.inner = inner
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii").partition("?")[0]
        self.seen.append((request.method, path))
        if self.inner is not None:
            return await self.inner.handle_async_request(request)
        answer = json.dumps({"service": self.service, "method": request.method, "path": path}).encode()
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=httpx.ByteStream(answer))


class Fleet:
    """The gateway in front of the real core, both in-process (core's provider router a stub)."""

    def __init__(self, stack: AsyncExitStack, key_path: Path, gateway_db: str, core_app: FastAPI) -> None:
        self.stack = stack
        self.key_path = key_path
        self.gateway_db = gateway_db
        self.core_app = core_app
        self.gateways: list[FastAPI] = []

    async def gateway(self, transports: dict[str, httpx.AsyncBaseTransport] | None = None, **overrides: Any) -> FastAPI:
        """A gateway in front of the real core, or of the given transports (by service name)."""
        settings = GatewaySettings(
            **{
                "environment": "test",
                "dev_signing_key_file": self.key_path,
                "database_url": self.gateway_db,
                **overrides,
            }
        )
        upstreams = transports or {"core": httpx.ASGITransport(app=self.core_app)}
        app = create_gateway(
            settings,
            core_transport=upstreams.get("core"),
            orchestrator_transport=upstreams.get("orchestrator"),
            billing_transport=upstreams.get("billing"),
            log_stream_transport=upstreams.get("log-stream"),
            provider_router_transport=upstreams.get("provider-router"),
        )
        await self.stack.enter_async_context(app.router.lifespan_context(app))
        self.gateways.append(app)
        return app

    async def browser(self, app: FastAPI | None = None, ip: str = "198.51.100.7") -> httpx.AsyncClient:
        """A same-origin browser: keeps cookies and sends its Origin."""
        target = app or self.gateways[0]
        transport = httpx.ASGITransport(app=target, raise_app_exceptions=False, client=(ip, 5000))
        client = httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"origin": ORIGIN})
        return await self.stack.enter_async_context(client)

    async def signed_up(
        self, name: str = "ada", app: FastAPI | None = None
    ) -> tuple[httpx.AsyncClient, dict[str, Any]]:
        browser = await self.browser(app)
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        response = await browser.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
        assert response.status_code == 201, response.text
        return browser, response.json()


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def send_raw(
    app: FastAPI, method: str, target: bytes, headers: dict[str, str], client: tuple[str, int] = ("198.51.100.7", 5000)
) -> RawResponse:
    """A request with its target exactly as written, scoped the way uvicorn scopes it (clients would tidy dot
    segments away before sending; attackers do not)."""
    raw_path, _, query = target.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("localhost", 8080),
        "client": client,
        "root_path": "",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    status, body, sent = 0, b"", False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return RawResponse(status, body)


@pytest.fixture
async def fleet(
    migrated_database: Callable[[Path], str], dev_key_file: Path, dev_key: bytes, peer_stub: Callable[[str], PeerStub]
) -> AsyncIterator[Fleet]:
    async with AsyncExitStack() as stack:
        router = peer_stub("provider-router").on("GET", "/v1/models", Answer(200, {"object": "list", "data": MODELS}))
        models = InternalClient(ROUTER_URL, LocalTokenSigner(dev_key, dev_service_account("core")), transport=router)
        core = create_core(
            CoreSettings(
                environment="test", dev_signing_key_file=dev_key_file, database_url=migrated_database(CORE_MIGRATIONS)
            ),
            sink=RecordingSink(),
            models_client=models,
        )
        await stack.enter_async_context(core.router.lifespan_context(core))
        fleet = Fleet(stack, dev_key_file, migrated_database(GATEWAY_MIGRATIONS), core)
        await fleet.gateway()
        yield fleet
