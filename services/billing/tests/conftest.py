from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_billing.app import create_app
from agentworks_billing.config import BillingSettings
from agentworks_billing.models import MIGRATIONS
from agentworks_billing.state import billing_state
from agentworks_events import Event
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.peer_stub import CoreDirectory, PeerStub
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.testing import RecordingSink, received_message
from fastapi import FastAPI

BILLING_URL = "http://127.0.0.1:8085"
CORE_URL = "http://127.0.0.1:8081"


def person(name: str) -> Principal:
    return Principal(uuid.uuid4(), f"{name}-{uuid.uuid4().hex[:6]}@example.com", None, "r", "")


class DictSecrets:
    """The secrets port over a dict (what ``EnvSecrets`` reads from the environment)."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = values or {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)


class Billing:
    """Billing in-process, core a stub; people are the owner, a member and a viewer of one workspace."""

    def __init__(
        self, billing: FastAPI, core: CoreDirectory, sink: RecordingSink, key: bytes, database_url: str
    ) -> None:
        self.app = billing
        self.core = core
        self.sink = sink
        self.key = key
        self.database_url = database_url
        self.owner, self.member, self.viewer = person("owner"), person("member"), person("viewer")
        self.ids: dict[str, uuid.UUID] = {}

    def client(self, app: FastAPI, base: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=base, timeout=30
        )

    def headers(self, base: str, principal: Principal | None, caller: str = "gateway") -> dict[str, str]:
        token = LocalTokenSigner(self.key, dev_service_account(caller)).sign(base)
        return {"authorization": f"Bearer {token}", **(principal.headers() if principal else {})}

    async def request(
        self, method: str, path: str, principal: Principal | None = None, json: Any = None, caller: str = "gateway"
    ) -> httpx.Response:
        async with self.client(self.app, BILLING_URL) as client:
            return await client.request(method, path, json=json, headers=self.headers(BILLING_URL, principal, caller))

    async def ok(
        self, method: str, path: str, principal: Principal | None = None, json: Any = None, caller: str = "gateway"
    ) -> Any:
        response = await self.request(method, path, principal or self.owner, json, caller)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def seed(self) -> dict[str, uuid.UUID]:
        tenancy = self.core.tenancy(self.owner.user_id)
        self.core.join(tenancy.workspace, self.member.user_id, "member")
        self.core.join(tenancy.workspace, self.viewer.user_id, "viewer")
        self.ids = {
            "workspace": tenancy.workspace,
            "shop": tenancy.project,
            "blog": self.core.project(tenancy.workspace),
        }
        return self.ids

    async def deliver(self, *events: Event, attempt: int = 1) -> None:
        """Deliver ``events`` as one pulled batch, as Pub/Sub would (fresh message ids); all must be acked."""
        consumer = billing_state(self.app.state.ctx).usage_consumer
        batch = [received_message(event, attempt) for event in events]
        verdict = await consumer.process(self.app.state.ctx.db, batch)
        assert verdict.nacks == [], "a usage event was refused"
        assert sorted(verdict.acks) == sorted(m.ack_id for m in batch)

    def published(self, kind: str) -> list[Any]:
        return [e for e in self.sink.events() if e.type == kind]


@pytest.fixture
def make_billing(
    migrated_database: Callable[[Path], str], dev_key_file: Path, dev_key: bytes, peer_stub: Callable[[str], PeerStub]
) -> Any:
    async def make(stack: AsyncExitStack, secrets: dict[str, str] | None = None, **overrides: Any) -> Billing:
        stub = peer_stub("core")
        core = CoreDirectory(stub)
        sink = RecordingSink()
        database_url = migrated_database(MIGRATIONS)
        settings = BillingSettings(
            environment="test",
            dev_signing_key_file=dev_key_file,
            database_url=database_url,
            schedule_in_process=False,
            pull_usage_events=False,
            **overrides,
        )
        core_client = InternalClient(
            CORE_URL, LocalTokenSigner(dev_key, dev_service_account("billing")), transport=stub
        )
        app = create_app(settings, sink=sink, core_client=core_client, secrets=DictSecrets(secrets))
        await stack.enter_async_context(app.router.lifespan_context(app))
        billing = Billing(app, core, sink, dev_key, database_url)
        billing.seed()
        return billing

    return make


@pytest.fixture
async def billing(make_billing: Any) -> AsyncIterator[Billing]:
    async with AsyncExitStack() as stack:
        yield await make_billing(stack)
