"""Fixtures of the multi-service scenarios: the orchestrator with the real core, billing and provider router in
process (the orchestrator's own tests stand its peers in with stubs)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_billing.app import create_app as create_billing
from agentworks_billing.config import BillingSettings
from agentworks_billing.models import MIGRATIONS as BILLING_MIGRATIONS
from agentworks_billing.state import billing_state
from agentworks_core.app import create_app as create_core
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_events import CardMoved, CardSnapshot, Event
from agentworks_localstack.threads import AppThread, free_port
from agentworks_orchestrator.app import create_app
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.models import MIGRATIONS
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_platform.testing import Templates
from agentworks_provider_router.app import create_app as create_router
from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_provider_router.models import MIGRATIONS as ROUTER_MIGRATIONS
from agentworks_pubsub import Verdict
from agentworks_pubsub.testing import RecordingSink, push_envelope, received_message, settled
from fastapi import FastAPI

from .fleet_support import fleet_settings

ORCHESTRATOR_URL = "http://127.0.0.1:8082"
CORE_URL = "http://127.0.0.1:8081"
BILLING_URL = "http://127.0.0.1:8085"
PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"


class RunStack:
    """The orchestrator, core and billing in process, the provider router (offline) on a real socket."""

    def __init__(
        self,
        apps: tuple[FastAPI, FastAPI, FastAPI],
        sink: RecordingSink,
        router_sink: RecordingSink,
        key: bytes,
        billing_sink: RecordingSink,
        router: FastAPI,
    ) -> None:
        self.orchestrator, self.core, self.billing = apps
        self.billing_sink = billing_sink
        self.sink = sink
        self._router_sink = router_sink
        self._router = router
        self.key = key
        self.owner = Principal(uuid.uuid4(), f"owner-{uuid.uuid4().hex[:6]}@example.com", None, "r", "")
        self.ids: dict[str, Any] = {}

    @property
    def router_sink(self) -> RecordingSink:
        """What the provider router published, once its background publishes are done."""
        settled(self._router)
        return self._router_sink

    def client(self, app: FastAPI, base: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=base, timeout=30
        )

    async def core_call(self, method: str, path: str, json: Any = None) -> Any:
        return await self.call(self.core, CORE_URL, method, path, json)

    async def billing_call(self, method: str, path: str, json: Any = None, caller: str = "gateway") -> Any:
        return await self.call(self.billing, BILLING_URL, method, path, json, caller)

    async def call(
        self, app: FastAPI, base: str, method: str, path: str, json: Any = None, caller: str = "gateway"
    ) -> Any:
        token = LocalTokenSigner(self.key, dev_service_account(caller)).sign(base)
        async with self.client(app, base) as client:
            response = await client.request(
                method, path, json=json, headers={"authorization": f"Bearer {token}", **self.owner.headers()}
            )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def seed(self) -> dict[str, Any]:
        workspace = await self.core_call("POST", "/api/workspaces", {"name": "Acme"})
        project = await self.core_call(
            "POST", f"/api/workspaces/{workspace['id']}/projects", {"name": "Shop", "description": "An online shop"}
        )
        card = await self.core_call("POST", f"/api/projects/{project['id']}/cards", {"title": "Checkout"})
        board = await self.core_call("GET", f"/api/boards/{project['board_id']}")
        self.ids = {
            "workspace": uuid.UUID(workspace["id"]),
            "project": uuid.UUID(project["id"]),
            "card": uuid.UUID(card["id"]),
            "board": uuid.UUID(board["id"]),
            "lanes": [uuid.UUID(lane["id"]) for lane in board["lanes"]],
        }
        return self.ids

    def moved(self, to_lane: int = 1, event_id: uuid.UUID | None = None) -> CardMoved:
        ids = self.ids
        snapshot = CardSnapshot(
            card_id=ids["card"],
            board_id=ids["board"],
            lane_id=ids["lanes"][to_lane],
            lane_number=to_lane,
            title="Checkout",
            position=0,
        )
        return CardMoved(
            id=event_id or uuid.uuid4(),
            workspace_id=ids["workspace"],
            project_id=ids["project"],
            card_id=ids["card"],
            board_id=ids["board"],
            from_lane_id=ids["lanes"][0],
            from_lane_number=0,
            to_lane_id=ids["lanes"][to_lane],
            to_lane_number=to_lane,
            from_position=0,
            to_position=0,
            card=snapshot,
        )

    async def push(self, event: Event, subscription: str = "orchestrator-card-events") -> httpx.Response:
        return await self.deliver(self.orchestrator, ORCHESTRATOR_URL, event, subscription)

    async def pull_into_billing(self, event: Event) -> Verdict:
        """``event`` as billing's consumer pulls it from billing-usage-events."""
        ctx = self.billing.state.ctx
        consumer = billing_state(ctx).usage_consumer
        return await consumer.process(ctx.db, [received_message(event)])

    async def deliver(self, app: FastAPI, url: str, event: Event, subscription: str) -> httpx.Response:
        body = push_envelope(event, subscription)
        token = LocalTokenSigner(self.key, PUSHER).sign(url)
        async with self.client(app, url) as client:
            return await client.post(
                f"/_events/{subscription}", json=body, headers={"authorization": f"Bearer {token}"}
            )

    def events(self, kind: str) -> list[Any]:
        return [e for e in self.sink.events() if e.type == kind]


@pytest.fixture
def make_run_stack(
    migrated_database: Callable[[Path], str], tmp_path: Path, dev_key_file: Path, templates: Templates
) -> Any:
    async def make(stack: AsyncExitStack, router_settings: dict[str, Any] | None = None, **overrides: Any) -> RunStack:
        """The fleet but the gateway and log-stream, with ``overrides`` of the orchestrator's settings; the
        ``router_settings`` are the router's (its providers' base URLs, for a wire fake)."""
        key_path = dev_key_file
        key = key_path.read_bytes()
        router_port = free_port()
        router_db = templates.sqlite(ROUTER_MIGRATIONS, tmp_path / "router.db")
        router_sink = RecordingSink()
        router = AppThread(
            create_router(
                fleet_settings(
                    ProviderRouterSettings,
                    tmp_path / "provider-router",
                    environment="test",
                    dev_signing_key_file=key_path,
                    database_url=router_db,
                    port=router_port,
                    **(router_settings or {}),
                ),
                sink=router_sink,
            ),
            port=router_port,
        ).start()
        stack.callback(router.stop)
        core = create_core(
            fleet_settings(
                CoreSettings,
                tmp_path / "core",
                environment="test",
                dev_signing_key_file=key_path,
                database_url=migrated_database(CORE_MIGRATIONS),
            ),
            sink=RecordingSink(),
            models_client=InternalClient(router.url, LocalTokenSigner(key, dev_service_account("core"))),
        )
        await stack.enter_async_context(core.router.lifespan_context(core))
        sink = RecordingSink()
        settings = fleet_settings(
            OrchestratorSettings,
            tmp_path / "orchestrator",
            environment="test",
            dev_signing_key_file=key_path,
            database_url=migrated_database(MIGRATIONS),
            provider_router_url=router.url,
            log_batch_seconds=0.05,
            **overrides,
        )
        core_client = InternalClient(
            CORE_URL,
            LocalTokenSigner(key, dev_service_account("orchestrator")),
            transport=httpx.ASGITransport(app=core),
        )
        billing_sink = RecordingSink()
        billing = create_billing(
            fleet_settings(
                BillingSettings,
                tmp_path / "billing",
                environment="test",
                dev_signing_key_file=key_path,
                database_url=migrated_database(BILLING_MIGRATIONS),
                schedule_in_process=False,
                pull_usage_events=False,
            ),
            sink=billing_sink,
            core_client=InternalClient(
                CORE_URL, LocalTokenSigner(key, dev_service_account("billing")), transport=httpx.ASGITransport(app=core)
            ),
        )
        await stack.enter_async_context(billing.router.lifespan_context(billing))
        billing_client = InternalClient(
            BILLING_URL,
            LocalTokenSigner(key, dev_service_account("orchestrator")),
            transport=httpx.ASGITransport(app=billing),
        )
        app = create_app(settings, sink=sink, core_client=core_client, billing_client=billing_client)
        await stack.enter_async_context(app.router.lifespan_context(app))
        result = RunStack((app, core, billing), sink, router_sink, key, billing_sink, router.app)
        await result.seed()
        return result

    return make


@pytest.fixture
async def run_stack(make_run_stack: Any) -> AsyncIterator[RunStack]:
    async with AsyncExitStack() as exits:
        yield await make_run_stack(exits)
