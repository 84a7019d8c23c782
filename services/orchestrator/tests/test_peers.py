"""A run as the orchestrator asks its peers for it, with core, billing and the provider router stood in by stubs
held to their published documents: the run context and the plan it asks for, the stream it reads and what it settles."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_events import CardMoved, CardSnapshot
from agentworks_orchestrator.models import MIGRATIONS
from agentworks_platform.peer_stub import Answer, Call, PeerStub
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_pubsub.testing import RecordingSink, push_envelope
from fastapi import FastAPI

from .conftest import ORCHESTRATOR_URL, PUSHER, start_orchestrator

CONTEXT = "/internal/projects/{project_id}/run-context"
PLAN = "/internal/workspaces/{workspace_id}/plan"
CHAT = "/v1/chat/completions"
ANSWER = 'Drafting.\n```json\n{"summary": "ok", "documents": [{"kind": "prd", "title": "PRD", "content": "# P"}]}\n```'


@dataclass
class Peers:
    """The orchestrator under test, its peers' stubs, and one card in lane 0 of a project."""

    app: FastAPI
    sink: RecordingSink
    key: bytes
    core: PeerStub
    billing: PeerStub
    router: PeerStub
    workspace: uuid.UUID = field(default_factory=uuid.uuid4)
    project: uuid.UUID = field(default_factory=uuid.uuid4)
    card: uuid.UUID = field(default_factory=uuid.uuid4)

    def moved(self, to_lane: int) -> CardMoved:
        board, lanes = uuid.uuid4(), [uuid.uuid4() for _ in range(to_lane + 1)]
        snapshot = CardSnapshot(
            card_id=self.card, board_id=board, lane_id=lanes[to_lane], lane_number=to_lane, title="Checkout", position=0
        )
        return CardMoved(
            workspace_id=self.workspace, project_id=self.project, card_id=self.card, board_id=board,
            from_lane_id=lanes[0], from_lane_number=0, to_lane_id=lanes[to_lane], to_lane_number=to_lane,
            from_position=0, to_position=0, card=snapshot,
        )  # fmt: skip

    async def push(self, event: CardMoved) -> httpx.Response:
        token = LocalTokenSigner(self.key, PUSHER).sign(ORCHESTRATOR_URL)
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=ORCHESTRATOR_URL) as client:
            body = push_envelope(event, "orchestrator-card-events")
            headers = {"authorization": f"Bearer {token}"}
            return await client.post("/_events/orchestrator-card-events", json=body, headers=headers)

    def events(self, kind: str) -> list[Any]:
        return [event for event in self.sink.events() if event.type == kind]

    def run_context(self, _call: Call) -> Answer:
        project = {"id": str(self.project), "workspace_id": str(self.workspace), "name": "Shop", "description": ""}
        card = {"id": str(self.card), "title": "Checkout", "description": "", "card_type": "feature"}
        agent = {
            "agent": "prd", "display_name": "Product manager", "lanes": [1], "provider": "openai",
            "model": "gpt-4-turbo", "enabled": True, "overridden": False,
        }  # fmt: skip
        context = {
            "project": project, "card": card, "lane_name": "PRD", "lane_number": 1, "requires_approval": False,
            "documents": [], "agents": [agent],
        }  # fmt: skip
        return Answer(200, context)

    def plan(self, _call: Call) -> Answer:
        return Answer(200, {"workspace_id": str(self.workspace), "markup": "5", "increment": "0.25", "custom": False})


def chunk(**fields: Any) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4-turbo", **fields}


def streamed(text: str) -> Answer:
    """The router's stream of ``text`` line by line, then its usage chunk with what the call cost."""
    lines = [chunk(choices=[{"index": 0, "delta": {"content": line}, "finish_reason": None}]) for line in text.split()]
    usage = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    cost = {"provider": "openai", "model": "gpt-4-turbo", "cost": "0.0025", "requested_provider": "openai"}
    return Answer.stream([*lines, chunk(choices=[], usage=usage, agentworks=cost)])


@pytest.fixture
async def peers(
    migrated_database: Callable[[Path], str],
    dev_key_file: Path,
    dev_key: bytes,
    peer_stub: Callable[[str], PeerStub],
) -> AsyncIterator[Peers]:
    core, billing, router = peer_stub("core"), peer_stub("billing"), peer_stub("provider-router")
    async with AsyncExitStack() as exits:
        app, sink = await start_orchestrator(
            exits,
            (core, billing, router),
            (dev_key, dev_key_file),
            migrated_database(MIGRATIONS),
            tool_roles=frozenset(),
        )
        stubbed = Peers(app, sink, dev_key, core, billing, router)
        core.on("GET", CONTEXT, stubbed.run_context)
        billing.on("GET", PLAN, stubbed.plan)
        router.on("POST", CHAT, streamed(ANSWER))
        yield stubbed


async def test_a_run_is_priced_with_billings_plan_and_settled_with_what_its_stream_cost(peers: Peers) -> None:
    assert (await peers.push(peers.moved(to_lane=1))).status_code == 204
    [asked] = peers.core.calls_to("GET", CONTEXT)
    assert (asked.path_params, asked.query) == (
        {"project_id": str(peers.project)},
        {"card_id": [str(peers.card)], "lane_number": ["1"]},
    )
    assert peers.billing.calls_to("GET", PLAN)[0].path_params == {"workspace_id": str(peers.workspace)}
    [completed] = peers.events("agent.run.completed")
    assert [document.kind for document in completed.artifacts.documents] == ["prd"]
    [settled] = peers.events("usage.run_settled")
    assert (settled.cost, settled.markup, settled.price) == (Decimal("0.0025"), Decimal(5), Decimal("0.25"))
    [completion] = peers.router.calls_to("POST", CHAT)
    assert (completion.body["model"], completion.body["stream_options"]) == ("gpt-4-turbo", {"include_usage": True})


async def test_the_card_context_and_the_pricing_plan_are_fetched_at_once(peers: Peers) -> None:
    """Both are on the path from a card move to the agent starting; asked in turn, neither answers."""
    arrived = {"core": asyncio.Event(), "billing": asyncio.Event()}

    def together(peer: str, answer: Callable[[Call], Answer]) -> Callable[[Call], Any]:
        async def once_both_are_asked(call: Call) -> Answer:
            arrived[peer].set()
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in arrived.values())), 5)
            return answer(call)

        return once_both_are_asked

    peers.core.on("GET", CONTEXT, together("core", peers.run_context))
    peers.billing.on("GET", PLAN, together("billing", peers.plan))
    assert (await peers.push(peers.moved(to_lane=1))).status_code == 204
    assert [event.agent for event in peers.events("agent.run.started")] == ["prd"]
