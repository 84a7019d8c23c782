from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_core.app import create_app as create_core
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_gateway.app import create_app as create_gateway
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.models import MIGRATIONS as GATEWAY_MIGRATIONS
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.service_auth import LocalTokenSigner, ensure_dev_key
from agentworks_platform.settings import dev_service_account
from agentworks_provider_router.app import create_app as create_router
from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_pubsub.testing import RecordingSink
from fastapi import FastAPI

ORIGIN = "http://localhost:8080"
PASSWORD = "correct horse battery"


class Fleet:
    """The gateway in front of the real core (and provider router), all in-process."""

    def __init__(self, stack: AsyncExitStack, key_path: Path, gateway_db: str, core_app: FastAPI) -> None:
        self.stack = stack
        self.key_path = key_path
        self.gateway_db = gateway_db
        self.core_app = core_app
        self.gateways: list[FastAPI] = []

    async def gateway(self, **overrides: Any) -> FastAPI:
        settings = GatewaySettings(
            **{
                "environment": "test",
                "dev_signing_key_file": self.key_path,
                "database_url": self.gateway_db,
                **overrides,
            }
        )
        app = create_gateway(settings, core_transport=httpx.ASGITransport(app=self.core_app))
        await self.stack.enter_async_context(app.router.lifespan_context(app))
        self.gateways.append(app)
        return app

    async def browser(self, app: FastAPI | None = None, ip: str = "198.51.100.7") -> httpx.AsyncClient:
        """A same-origin browser: keeps cookies and sends its Origin."""
        target = app or self.gateways[0]
        transport = httpx.ASGITransport(app=target, raise_app_exceptions=False, client=(ip, 5000))
        client = httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"origin": ORIGIN})
        return await self.stack.enter_async_context(client)

    async def signed_up(self, name: str = "ada") -> tuple[httpx.AsyncClient, dict[str, Any]]:
        browser = await self.browser()
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        response = await browser.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
        assert response.status_code == 201, response.text
        return browser, response.json()


@pytest.fixture
async def fleet(migrated_database: Callable[[Path], str], tmp_path: Path) -> AsyncIterator[Fleet]:
    key_path = tmp_path / "key.pem"
    key = ensure_dev_key(key_path)
    async with AsyncExitStack() as stack:
        router = create_router(
            ProviderRouterSettings(
                environment="test", dev_signing_key_file=key_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/r.db"
            ),
            sink=RecordingSink(),
        )
        await stack.enter_async_context(router.router.lifespan_context(router))
        models = InternalClient(
            "http://127.0.0.1:8083",
            LocalTokenSigner(key, dev_service_account("core")),
            transport=httpx.ASGITransport(app=router),
        )
        core = create_core(
            CoreSettings(
                environment="test", dev_signing_key_file=key_path, database_url=migrated_database(CORE_MIGRATIONS)
            ),
            sink=RecordingSink(),
            models_client=models,
        )
        await stack.enter_async_context(core.router.lifespan_context(core))
        fleet = Fleet(stack, key_path, migrated_database(GATEWAY_MIGRATIONS), core)
        await fleet.gateway()
        yield fleet
