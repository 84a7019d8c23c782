from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_core.app import create_app
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS
from agentworks_events import AgentRunCompleted, RunArtifacts, RunTokens
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_platform.testing import Templates
from agentworks_provider_router.app import create_app as create_router
from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_provider_router.models import MIGRATIONS as ROUTER_MIGRATIONS
from agentworks_pubsub.testing import RecordingSink, push_envelope

CORE_URL = "http://127.0.0.1:8081"
PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str

    @classmethod
    def new(cls, name: str) -> User:
        return cls(uuid.uuid4(), f"{name}-{uuid.uuid4().hex[:6]}@example.com")


@dataclass
class World:
    """Two tenants: A with an owner, a member, a viewer and a pending invitation; B with its own owner and a pending
    viewer. Each has a project and a card."""

    owner: User
    member: User
    viewer: User
    stranger: User
    ids: dict[str, Any] = field(default_factory=dict)


class Core:
    def __init__(
        self,
        client: httpx.AsyncClient,
        sink: RecordingSink,
        signer: LocalTokenSigner,
        pusher: LocalTokenSigner | None = None,
    ) -> None:
        self.client = client
        self.sink = sink
        self.app: Any = None  # the core app itself, for tests that read what it recorded
        self.signer = signer
        self.pusher = pusher or signer

    def headers(self, user: User | None, key_workspace: uuid.UUID | None = None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.signer.sign(CORE_URL)}"}
        if user is not None:
            headers.update(Principal(user.id, user.email, key_workspace, "req-1", "203.0.113.9").headers())
        return headers

    async def call(self, method: str, path: str, user: User | None, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(user, kwargs.pop("key", None)), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, json=json, **kwargs)

    async def ok(self, method: str, path: str, user: User, json: Any = None) -> Any:
        response = await self.call(method, path, user, json)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    async def push(self, event: Any) -> httpx.Response:
        """Deliver an agent-runs event to core's push endpoint as Pub/Sub would."""
        body = push_envelope(event, "core-agent-runs")
        token = self.pusher.sign(CORE_URL)
        return await self.client.post(
            "/_events/core-agent-runs", json=body, headers={"authorization": f"Bearer {token}"}
        )

    async def completed_run(self, workspace: str, project: str, card: str, **changes: Any) -> str:
        run_id = uuid.uuid4()
        fields: dict[str, Any] = {
            "agent": "prd",
            "provider": "offline",
            "model": "offline-small",
            "tokens": RunTokens(input_tokens=10, output_tokens=20),
            "cost": Decimal("0.01"),
            "price": Decimal("0.25"),
            "duration_ms": 5,
            "last_seq": 3,
            "artifacts": RunArtifacts(summary="done"),
            **changes,
        }
        event = AgentRunCompleted(
            workspace_id=uuid.UUID(workspace),
            project_id=uuid.UUID(project),
            run_id=run_id,
            card_id=uuid.UUID(card),
            **fields,
        )
        response = await self.push(event)
        assert response.status_code == 204, response.text
        return str(run_id)

    async def world(self) -> World:
        world = World(User.new("owner"), User.new("member"), User.new("viewer"), User.new("stranger"))
        ids = world.ids
        for tenant, owner in (("a", world.owner), ("b", world.stranger)):
            workspace = await self.ok("POST", "/api/workspaces", owner, {"name": f"Workspace {tenant}"})
            project = await self.ok("POST", f"/api/workspaces/{workspace['id']}/projects", owner, {"name": "Shop"})
            board = await self.ok("GET", f"/api/boards/{project['board_id']}", owner)
            card = await self.ok("POST", f"/api/projects/{project['id']}/cards", owner, {"title": "Checkout"})
            await self.ok("PUT", f"/api/projects/{project['id']}/documents/prd", owner, {"content": "# PRD v1"})
            ids[tenant] = {
                "workspace": workspace["id"],
                "project": project["id"],
                "board": board["id"],
                "lanes": [lane["id"] for lane in board["lanes"]],
                "card": card["id"],
                "run": await self.completed_run(workspace["id"], project["id"], card["id"]),
            }
        for user, role in ((world.member, "member"), (world.viewer, "viewer")):
            invited = await self.ok(
                "POST",
                f"/api/workspaces/{ids['a']['workspace']}/members",
                world.owner,
                {"email": user.email, "role": role},
            )
            ids["a"][f"{role}_member"] = invited["id"]
            await self.ok("POST", "/api/invitations/accept", user, {"token": invited["invitation"]["token"]})
        pending = await self.ok(
            "POST",
            f"/api/workspaces/{ids['a']['workspace']}/members",
            world.owner,
            {"email": User.new("pending").email, "role": "member"},
        )
        ids["a"]["pending_member"] = pending["id"]
        outsider = await self.ok(
            "POST",
            f"/api/workspaces/{ids['b']['workspace']}/members",
            world.stranger,
            {"email": User.new("b-viewer").email, "role": "viewer"},
        )
        ids["b"]["viewer_member"] = ids["b"]["pending_member"] = outsider["id"]
        self.sink.published.clear()
        return world


@pytest.fixture
async def core(
    migrated_database: Callable[[Path], str], tmp_path: Path, templates: Templates, dev_key_file: Path, dev_key: bytes
) -> AsyncIterator[Core]:
    key_path, key = dev_key_file, dev_key
    router_settings = ProviderRouterSettings(
        environment="test",
        dev_signing_key_file=key_path,
        database_url=templates.sqlite(ROUTER_MIGRATIONS, tmp_path / "router.db"),
    )
    router = create_router(router_settings, sink=RecordingSink())
    sink = RecordingSink()
    async with router.router.lifespan_context(router):
        models_client = InternalClient(
            "http://127.0.0.1:8083",
            LocalTokenSigner(key, dev_service_account("core")),
            transport=httpx.ASGITransport(app=router),
        )
        settings = CoreSettings(
            environment="test", dev_signing_key_file=key_path, database_url=migrated_database(MIGRATIONS)
        )
        app = create_app(settings, sink=sink, models_client=models_client)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=CORE_URL) as client:
                harness = Core(
                    client, sink, LocalTokenSigner(key, dev_service_account("gateway")), LocalTokenSigner(key, PUSHER)
                )
                harness.app = app
                yield harness
