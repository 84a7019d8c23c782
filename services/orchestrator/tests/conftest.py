"""The orchestrator under test, with core, billing and the provider router stood in by stubs held to their
published OpenAPI documents; the scenarios that need the real peers are in the top-level tests/."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from agentworks_events import CardMoved, CardSnapshot, Event
from agentworks_orchestrator.app import create_app
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.models import MIGRATIONS
from agentworks_orchestrator.runs.contract import CONTRACTS
from agentworks_platform.db import Database
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.peer_stub import Answer, Call, CoreDirectory, PeerStub, Tenancy
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.testing import RecordingSink, push_envelope
from fastapi import FastAPI

ORCHESTRATOR_URL = "http://127.0.0.1:8082"
CORE_URL = "http://127.0.0.1:8081"
BILLING_URL = "http://127.0.0.1:8085"
MODEL_URL = "http://127.0.0.1:8086"  # the provider router as a stub of its model operations
PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"

CONTEXT = "/internal/projects/{project_id}/run-context"
PLAN = "/internal/workspaces/{workspace_id}/plan"
CHAT = "/v1/chat/completions"
IMAGES = "/v1/images/generations"
RUN_USAGE = "/internal/runs/{run_id}/usage"
CALL_COST = Decimal("0.0025")  # what the router says each scripted call cost
CALL_TOKENS = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}


@dataclass(frozen=True)
class AgentDefault:
    """An agent as core's registry defines it: a copy, since the orchestrator's tests stand core in."""

    display_name: str
    lanes: tuple[int, ...]
    provider: str
    model: str


REGISTRY: dict[str, AgentDefault] = {
    "ceo_copilot": AgentDefault("CEO CoPilot", (0,), "openai", "gpt-5"),
    "strategy": AgentDefault("Strategy", (0,), "openai", "gpt-5"),
    "prd": AgentDefault("PRD", (1,), "openai", "gpt-5"),
    "designer": AgentDefault("Designer", (2,), "google", "gemini-2.5-flash"),
    "architect": AgentDefault("Architect", (3,), "anthropic", "claude-sonnet-4-6"),
    "dev_backend": AgentDefault("Backend developer", (5,), "anthropic", "claude-sonnet-4-6"),
    "dev_frontend": AgentDefault("Frontend developer", (5,), "anthropic", "claude-sonnet-4-6"),
    "reviewer": AgentDefault("Code reviewer", (6,), "openai", "gpt-5"),
    "qa": AgentDefault("QA", (7,), "anthropic", "claude-sonnet-4-6"),
    "troubleshooter": AgentDefault("Troubleshooter", (7,), "google", "gemini-2.5-pro"),
}
# The agents a project of the shared fixture has (one per lane the tests move cards into).
FIXTURE_AGENTS = ("ceo_copilot", "prd", "designer", "architect", "dev_backend", "dev_frontend")


def agent_config(key: str, **changes: Any) -> dict[str, Any]:
    """An agent of the run context as core answers it: the registry's defaults, with ``changes``."""
    spec = REGISTRY[key]
    config = {
        "agent": key, "display_name": spec.display_name, "lanes": list(spec.lanes), "provider": spec.provider,
        "model": spec.model, "enabled": True, "overridden": False,
    }  # fmt: skip
    return {**config, **changes}


async def start_orchestrator(
    exits: AsyncExitStack,
    peers: tuple[PeerStub, PeerStub, PeerStub],
    key: tuple[bytes, Path],
    database_url: str,
    clock: ManualClock | None = None,
    **overrides: Any,
) -> tuple[FastAPI, RecordingSink]:
    """The orchestrator's app, started, its peers (core, billing, the router) the given stubs, its model the
    router stub's chat completions; ``overrides`` of its settings."""
    core, billing, router = peers
    dev_key, dev_key_file = key
    signer = LocalTokenSigner(dev_key, dev_service_account("orchestrator"))
    to_router = httpx.AsyncClient(transport=router)
    exits.push_async_callback(to_router.aclose)
    llm = openai.AsyncOpenAI(
        api_key=signer.sign(MODEL_URL), base_url=f"{MODEL_URL}/v1", max_retries=0, http_client=to_router
    )
    if "repos_dir" not in overrides:  # repositories and working copies of a test are its own
        overrides["repos_dir"] = Path(exits.enter_context(tempfile.TemporaryDirectory())) / "repos"
    settings = OrchestratorSettings(
        environment="test", dev_signing_key_file=dev_key_file, database_url=database_url,
        provider_router_url=MODEL_URL, log_batch_seconds=0.05, **overrides,
    )  # fmt: skip
    sink = RecordingSink()
    app = create_app(
        settings,
        sink=sink,
        core_client=InternalClient(CORE_URL, signer, transport=core),
        billing_client=InternalClient(BILLING_URL, signer, transport=billing),
        router_client=InternalClient(MODEL_URL, signer, transport=router),
        llm=llm,
        **({"clock": clock} if clock else {}),
    )
    await exits.enter_async_context(app.router.lifespan_context(app))
    return app, sink


class ManualClock:
    """A clock that stands still until the test moves it: lease expiry and run time limits without waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Turn:
    """One answer of the model: its prose and the tool calls it makes (name and arguments)."""

    text: str = ""
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()


def session(document: str, breaks_down: bool = False) -> list[Turn]:
    """A whole tool-using session, turn by turn: read the card, write ``document`` (and, for a role offered
    ``create_child_card``, make two child cards at once), comment, then answer."""
    content = {"name": document, "title": "Checkout", "content": "# Checkout\n\nOne page."}
    children = [{"title": title, "acceptance_criteria": ["Works"]} for title in ("API", "Page")] if breaks_down else []
    return [
        Turn("Reading the card.", (("read_card", {}),)),
        Turn("", (("write_document", content), *(("create_child_card", child) for child in children))),
        Turn("", (("comment", {"body": "Drafted the document."}),)),
        Turn("Done: drafted the document."),
    ]


def chunk(**fields: Any) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-5", **fields}


def streamed(turn: Turn, cost: Decimal = CALL_COST) -> Answer:
    """A turn as the router streams it: text line by line, each tool call as deltas (its name first, then its
    arguments in two parts), then the usage chunk with what the call cost."""
    lines = [
        chunk(choices=[{"index": 0, "delta": {"content": line}, "finish_reason": None}])
        for line in turn.text.splitlines(keepends=True)
    ]
    for index, (name, arguments) in enumerate(turn.calls):
        text = json.dumps(arguments)
        first = {"index": index, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "function", "function": {"name": name}}
        parts = [first, *({"index": index, "function": {"arguments": part}} for part in (text[:5], text[5:]))]
        lines += [chunk(choices=[{"index": 0, "delta": {"tool_calls": [p]}, "finish_reason": None}]) for p in parts]
    spent = {"provider": "openai", "model": "gpt-5", "cost": str(cost), "requested_provider": "openai", "attempts": 1}
    return Answer.stream([*lines, chunk(choices=[], usage=CALL_TOKENS, agentworks=spent)])


@dataclass
class Hold:
    """A model call held open: ``arrived`` once the orchestrator sent it, answered once ``release`` is set."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


class Model:
    """The provider router's chat completions, stood in. Each call answers the next scripted turn; with none
    scripted, a tool-using call gets the ``session`` turn its conversation is at (so a resumed run goes on where
    it was) and a single call a valid JSON block with the agent's documents."""

    def __init__(self, router: PeerStub) -> None:
        self.script: list[Turn] = []
        self.holds: dict[int, Hold] = {}
        self.on_call: Callable[[], None] = lambda: None  # e.g. what a call takes on a manual clock
        self.router = router.on("POST", CHAT, self._complete)

    @property
    def requests(self) -> list[Any]:
        return [call.body for call in self.router.calls_to("POST", CHAT)]

    def hold(self, call_number: int) -> Hold:
        """Keep the ``call_number``-th call (from 1) open until the test releases it."""
        return self.holds.setdefault(call_number, Hold())

    async def _complete(self, call: Call) -> Answer:
        self.on_call()
        held = self.holds.get(len(self.requests))
        if held is not None:
            held.arrived.set()
            await held.release.wait()
        return streamed(self.script.pop(0) if self.script else self._default(call))

    @staticmethod
    def _default(call: Call) -> Turn:
        agent = call.headers["x-aw-agent"]
        if call.body.get("tools"):
            offered = {t["function"]["name"]: t["function"] for t in call.body["tools"]}
            document = offered["write_document"]["parameters"]["properties"]["name"].get("enum", ["notes"])[0]
            turns = session(document, breaks_down="create_child_card" in offered)
            done = sum(1 for message in call.body["messages"] if message["role"] == "assistant")
            return turns[min(done, len(turns) - 1)]
        documents = [{"kind": kind, "title": kind, "content": f"# {kind}"} for kind in CONTRACTS[agent].documents]
        return Turn(f"Drafting.\n```json\n{json.dumps({'summary': 'ok', 'documents': documents})}\n```")


@dataclass
class Orchestrator:
    """The orchestrator under test and its peers' stubs: core (with its directory of workspaces and a project
    whose card sits in lane 0), billing and the provider router's model."""

    app: FastAPI
    sink: RecordingSink
    key: bytes
    core: PeerStub
    billing: PeerStub
    router: PeerStub
    model: Model
    directory: CoreDirectory
    owner: Principal
    tenancy: Tenancy
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    gated_lanes: set[int] = field(default_factory=set)
    markup: str = "5"
    increment: str = "0.25"

    @property
    def workspace(self) -> uuid.UUID:
        return self.tenancy.workspace

    @property
    def project(self) -> uuid.UUID:
        return self.tenancy.project

    @property
    def card(self) -> uuid.UUID:
        return self.tenancy.card

    @property
    def db(self) -> Database:
        db: Database = self.app.state.ctx.db
        return db

    def moved(self, to_lane: int = 1) -> CardMoved:
        """The card moved from lane 0 into ``to_lane``."""
        board, card = self.tenancy.board, self.card
        lanes = [uuid.uuid5(board, str(number)) for number in range(to_lane + 1)]
        snapshot = CardSnapshot(
            card_id=card, board_id=board, lane_id=lanes[to_lane], lane_number=to_lane, title="Checkout", position=0
        )
        return CardMoved(
            workspace_id=self.workspace, project_id=self.project, card_id=card, board_id=board,
            from_lane_id=lanes[0], from_lane_number=0, to_lane_id=lanes[to_lane], to_lane_number=to_lane,
            from_position=0, to_position=0, card=snapshot,
        )  # fmt: skip

    async def push(self, event: Event, subscription: str = "orchestrator-card-events") -> httpx.Response:
        token = LocalTokenSigner(self.key, PUSHER).sign(ORCHESTRATOR_URL)
        async with self.client() as client:
            body = push_envelope(event, subscription)
            return await client.post(
                f"/_events/{subscription}", json=body, headers={"authorization": f"Bearer {token}"}
            )

    async def api(self, path: str, json: Any = None, principal: Principal | None = None) -> httpx.Response:
        """POST ``path`` as the gateway does for a person (the owner unless ``principal`` is given)."""
        token = LocalTokenSigner(self.key, dev_service_account("gateway")).sign(ORCHESTRATOR_URL)
        headers = {"authorization": f"Bearer {token}", **(principal or self.owner).headers()}
        async with self.client() as client:
            return await client.post(path, json=json, headers=headers)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=ORCHESTRATOR_URL, timeout=30)

    def events(self, kind: str) -> list[Any]:
        return [event for event in self.sink.events() if event.type == kind]

    def agent(self, name: str, **changes: Any) -> None:
        """Configure the project's ``name`` agent as core would answer it (provider, model, enabled)."""
        self.agents[name] = {**self.agents[name], **changes, "overridden": True}

    def run_context(self, call: Call) -> Answer:
        project, card = call.path_params["project_id"], call.query.get("card_id", [None])[0]
        owner = self.directory.owners.get(("project", project))
        if owner is None or (card and self.directory.owners.get(("card", card), {}).get("project_id") != project):
            return Answer.refusal(404, "not_found", f"No project {project} or card {card}.")
        lane = int(call.query.get("lane_number", ["0"])[0])
        context = {
            "project": {"id": project, "workspace_id": owner["workspace_id"], "name": "Shop", "description": ""},
            "card": card and {
                "id": card, "human_id": "SHOP-7", "title": "Checkout", "description": "", "card_type": "feature"
            },
            "lane_name": f"Lane {lane}", "lane_number": lane if card else None,
            "requires_approval": lane in self.gated_lanes, "documents": [], "agents": list(self.agents.values()),
        }  # fmt: skip
        return Answer(200, context)

    def plan(self, call: Call) -> Answer:
        workspace = call.path_params["workspace_id"]
        return Answer(
            200, {"workspace_id": workspace, "markup": self.markup, "increment": self.increment, "custom": False}
        )

    def run_usage(self, call: Call) -> Answer:
        """What the router recorded for the run: every call the orchestrator made for it, a cut one too."""
        run = call.path_params["run_id"]
        calls = len([c for c in self.router.calls_to("POST", CHAT) if c.headers.get("x-aw-run-id") == run])
        tokens = {
            "input_tokens": CALL_TOKENS["prompt_tokens"] * calls,
            "output_tokens": CALL_TOKENS["completion_tokens"] * calls,
        }
        return Answer(200, {"run_id": run, "provider_calls": calls, **tokens, "cost": str(CALL_COST * calls)})


@pytest.fixture
def make_orchestrator(
    migrated_database: Callable[[Path], str],
    dev_key_file: Path,
    dev_key: bytes,
    peer_stub: Callable[[str], PeerStub],
) -> Callable[..., Any]:
    async def make(exits: AsyncExitStack, clock: ManualClock | None = None, **overrides: Any) -> Orchestrator:
        """The orchestrator with ``overrides`` of its settings, leases measured by ``clock``."""
        core, billing, router = peer_stub("core"), peer_stub("billing"), peer_stub("provider-router")
        peers = (core, billing, router)
        database = migrated_database(MIGRATIONS)
        app, sink = await start_orchestrator(exits, peers, (dev_key, dev_key_file), database, clock, **overrides)
        owner = Principal(uuid.uuid4(), f"owner-{uuid.uuid4().hex[:6]}@example.com", None, "r", "")
        directory = CoreDirectory(core)
        agents = {name: agent_config(name) for name in FIXTURE_AGENTS}
        tenancy = directory.tenancy(owner.user_id)
        under_test = Orchestrator(app, sink, dev_key, core, billing, router, Model(router), directory, owner, tenancy)
        under_test.agents = agents
        core.on("GET", CONTEXT, under_test.run_context)
        billing.on("GET", PLAN, under_test.plan)
        router.on("GET", RUN_USAGE, under_test.run_usage)
        return under_test

    return make


@pytest.fixture
async def orchestrator(make_orchestrator: Callable[..., Any]) -> AsyncIterator[Orchestrator]:
    async with AsyncExitStack() as exits:
        yield await make_orchestrator(exits)
