from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
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
from agentworks_platform.peer_stub import Answer, PeerStub
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_platform.testing import Templates
from agentworks_pubsub.testing import RecordingSink, push_envelope

CORE_URL = "http://127.0.0.1:8081"
ROUTER_URL = "http://127.0.0.1:8083"
PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"
ROUTABLE = (
    ("openai", "gpt-5"),
    ("openai", "gpt-5-mini"),
    ("anthropic", "claude-3-5-sonnet"),
    ("offline", "offline-small"),
)


def provider_router(stand_in: Callable[[str], PeerStub], key: bytes) -> tuple[InternalClient, PeerStub]:
    """Core's client of the provider router, answered by a stub listing the ``ROUTABLE`` models (tests may script
    more of it)."""
    models = [{"id": model, "owned_by": provider, "object": "model", "created": 0} for provider, model in ROUTABLE]
    router = stand_in("provider-router").on("GET", "/v1/models", Answer(200, {"object": "list", "data": models}))
    return InternalClient(ROUTER_URL, LocalTokenSigner(key, dev_service_account("core")), transport=router), router


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
        self.router: PeerStub | None = None  # the provider router core calls, for tests that script more of it
        self.seeded: World | None = None
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
        """The seeded world this core's database was copied from; what it published while seeding is forgotten."""
        assert self.seeded is not None, "this core was not started on a seeded world"
        self.sink.published.clear()
        return self.seeded

    async def seed_world(self) -> World:
        """Make the world through core's API (once per backend; tests get copies of the database it leaves)."""
        world = World(User.new("owner"), User.new("member"), User.new("viewer"), User.new("stranger"))
        ids = world.ids
        for tenant, owner in (("a", world.owner), ("b", world.stranger)):
            workspace = await self.ok("POST", "/api/workspaces", owner, {"name": f"Workspace {tenant}"})
            project = await self.ok("POST", f"/api/workspaces/{workspace['id']}/projects", owner, {"name": "Shop"})
            board = await self.ok("GET", f"/api/boards/{project['board_id']}", owner)
            card = await self.ok("POST", f"/api/projects/{project['id']}/cards", owner, {"title": "Checkout"})
            label = {"name": "Payments", "color": "#2f80ed"}
            label = await self.ok("POST", f"/api/projects/{project['id']}/labels", owner, label)
            await self.ok("PUT", f"/api/projects/{project['id']}/documents/prd", owner, {"content": "# PRD v1"})
            ids[tenant] = {
                "workspace": workspace["id"],
                "project": project["id"],
                "board": board["id"],
                "lanes": [lane["id"] for lane in board["lanes"]],
                "card": card["id"],
                "label": label["id"],
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


@dataclass(frozen=True)
class SeededWorld:
    """A database holding the world, the template each test's database is copied from."""

    url: str
    world: World


@pytest.fixture(scope="session")
def seeded_worlds() -> dict[tuple[str, str], SeededWorld]:
    """The world per backend and server, seeded through core's API on first use."""
    return {}


@asynccontextmanager
async def running_core(url: str, key_path: Path, key: bytes, router: InternalClient) -> AsyncIterator[Core]:
    """Core on the database at ``url``, called in-process as the gateway calls it."""
    sink = RecordingSink()
    settings = CoreSettings(
        environment="test", dev_signing_key_file=key_path, database_url=url, blobs_dir=key_path.parent / "core-blobs"
    )
    app = create_app(settings, sink=sink, models_client=router)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=CORE_URL) as client:
            harness = Core(
                client, sink, LocalTokenSigner(key, dev_service_account("gateway")), LocalTokenSigner(key, PUSHER)
            )
            harness.app = app
            yield harness


@pytest.fixture
async def core(
    backend: str,
    seeded_worlds: dict[tuple[str, str], SeededWorld],
    templates: Templates,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    dev_key_file: Path,
    dev_key: bytes,
    peer_stub: Callable[[str], PeerStub],
) -> AsyncIterator[Core]:
    """Core on a copy of the seeded world's database (``core.world()`` names it), its router a stub."""
    admin = "sqlite" if backend == "sqlite" else str(request.getfixturevalue("postgres_admin"))
    seeded = seeded_worlds.get((backend, admin))
    if seeded is None:
        if backend == "sqlite":
            url = templates.sqlite(MIGRATIONS, templates.root / f"core-world-{uuid.uuid4().hex}.db")
        else:
            url = templates.postgres(MIGRATIONS, admin)
            templates.keep(admin, url)
        async with running_core(url, dev_key_file, dev_key, provider_router(peer_stub, dev_key)[0]) as seeding:
            seeded = seeded_worlds[(backend, admin)] = SeededWorld(url, await seeding.seed_world())
    if backend == "sqlite":
        copy = tmp_path / "core.db"
        shutil.copyfile(seeded.url.removeprefix("sqlite+aiosqlite:///"), copy)
        url = f"sqlite+aiosqlite:///{copy}"
    else:
        url = templates.copy(seeded.url, admin)
    router, router_stub = provider_router(peer_stub, dev_key)  # its own: the seeding core closed the one it had
    async with running_core(url, dev_key_file, dev_key, router) as harness:
        harness.seeded, harness.router = seeded.world, router_stub
        yield harness
    if backend != "sqlite":
        templates.release(admin, url)
