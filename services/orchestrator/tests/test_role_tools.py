"""Each role's tools, with core, billing and the provider router stood in by stubs held to their published
documents: which tools a role is offered, the Designer working with tools on its default model and generating its
images with the image model, an image model keeping the single-call contract, and what ``read_card`` and
``create_child_card`` answer the model."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_events import CardMoved, CardSnapshot
from agentworks_events.runs import child_card_id_for
from agentworks_orchestrator.models import MIGRATIONS
from agentworks_platform.peer_stub import Answer, Call, PeerStub
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_pubsub.testing import RecordingSink, push_envelope
from fastapi import FastAPI

from .conftest import (
    CHAT,
    CONTEXT,
    IMAGES,
    MODEL_URL,
    ORCHESTRATOR_URL,
    PLAN,
    PUSHER,
    REGISTRY,
    agent_config,
    start_orchestrator,
)

CARD_ROLES = frozenset(("strategy", "prd", "designer", "architect", "dev_backend", "reviewer", "qa"))
DOCUMENT_AND_CARD_TOOLS = {
    "list_documents", "read_document", "write_document", "read_card", "update_card", "add_checklist_items",
    "check_checklist_item", "comment", "request_move",
}  # fmt: skip
READS_CODE = {"list_files", "read_file", "search_files", "view_diff"}
IMAGE_NAME = "3f2c9a1e4b5d4c6f8a7b9c0d1e2f3a4b.png"

ToolUse = tuple[str, str, dict[str, Any]]


@dataclass
class Peers:
    """The orchestrator under test (every card role using tools) and its peers' stubs; one card, and the agent
    the run context names for the lane it moves into."""

    app: FastAPI
    sink: RecordingSink
    key: bytes
    core: PeerStub
    billing: PeerStub
    router: PeerStub
    agent: dict[str, Any] = field(default_factory=dict)
    card_fields: dict[str, Any] = field(default_factory=dict)
    workspace: uuid.UUID = field(default_factory=uuid.uuid4)
    project: uuid.UUID = field(default_factory=uuid.uuid4)
    card: uuid.UUID = field(default_factory=uuid.uuid4)

    def lane_agent(self, key: str, provider: str | None = None, model: str | None = None) -> None:
        """The lane's agent as core answers it: the registry's defaults unless a project chose otherwise."""
        chosen = {name: value for name, value in (("provider", provider), ("model", model)) if value is not None}
        self.agent = agent_config(key, **chosen, overridden=model is not None)

    async def move_into_lane(self) -> None:
        lane = self.agent["lanes"][0]
        board, lanes = uuid.uuid4(), [uuid.uuid4() for _ in range(9)]
        start = 8 if lane == 0 else 0  # the lane the card comes from: another one
        snapshot = CardSnapshot(
            card_id=self.card, board_id=board, lane_id=lanes[lane], lane_number=lane, title="Saved cards", position=0
        )
        moved = CardMoved(
            workspace_id=self.workspace, project_id=self.project, card_id=self.card, board_id=board,
            from_lane_id=lanes[start], from_lane_number=start, to_lane_id=lanes[lane], to_lane_number=lane,
            from_position=0, to_position=0, card=snapshot,
        )  # fmt: skip
        token = LocalTokenSigner(self.key, PUSHER).sign(ORCHESTRATOR_URL)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=ORCHESTRATOR_URL) as client:
            answer = await client.post(
                "/_events/orchestrator-card-events",
                json=push_envelope(moved, "orchestrator-card-events"),
                headers={"authorization": f"Bearer {token}"},
            )
        assert answer.status_code == 204, answer.text

    def events(self, kind: str) -> list[Any]:
        return [event for event in self.sink.events() if event.type == kind]

    def run_context(self, _call: Call) -> Answer:
        project = {"id": str(self.project), "workspace_id": str(self.workspace), "name": "Shop", "description": ""}
        card = {
            "id": str(self.card), "title": "Saved cards", "description": "Pay in one step with a card on file.",
            "card_type": "feature", **self.card_fields,
        }  # fmt: skip
        context = {
            "project": project, "card": card, "lane_name": "Lane", "lane_number": self.agent["lanes"][0],
            "requires_approval": False, "documents": [], "agents": [self.agent],
        }  # fmt: skip
        return Answer(200, context)

    def plan(self, _call: Call) -> Answer:
        return Answer(200, {"workspace_id": str(self.workspace), "markup": "5", "increment": "0.25", "custom": False})

    def tools_offered(self) -> set[str]:
        [first, *_] = self.router.calls_to("POST", CHAT)
        return {tool["function"]["name"] for tool in first.body.get("tools", [])}


def chunk(model: str, **fields: Any) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model, **fields}


def turn(text: str, uses: Sequence[ToolUse] = (), model: str = "gemini-2.5-flash") -> Answer:
    """One streamed model turn as the router answers it: the text, each tool call, the finish, then the usage."""
    pieces = [chunk(model, choices=[{"index": 0, "delta": {"content": text}, "finish_reason": None}])]
    for index, (call_id, name, arguments) in enumerate(uses):
        call = {"index": index, "id": call_id, "type": "function"}
        call["function"] = {"name": name, "arguments": json.dumps(arguments)}
        pieces.append(chunk(model, choices=[{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]))
    finish = "tool_calls" if uses else "stop"
    pieces.append(chunk(model, choices=[{"index": 0, "delta": {}, "finish_reason": finish}]))
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    cost = {"provider": "google", "model": model, "cost": "0.0010", "requested_provider": "google"}
    pieces.append(chunk(model, choices=[], usage=usage, agentworks=cost))
    return Answer.stream(pieces)


def scripted(*turns: Callable[[list[dict[str, Any]]], Answer]) -> Callable[[Call], Answer]:
    """The model's turns in order, each chosen by how many turns the conversation it is sent already has."""

    def answer(call: Call) -> Answer:
        messages = call.body["messages"]
        return turns[sum(1 for m in messages if m["role"] == "assistant")](messages)

    return answer


def tool_results(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "tool"]


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
            tool_roles=CARD_ROLES,
        )
        stubbed = Peers(app, sink, dev_key, core, billing, router)
        core.on("GET", CONTEXT, stubbed.run_context)
        billing.on("GET", PLAN, stubbed.plan)
        router.on("POST", CHAT, turn("Nothing to do."))
        yield stubbed


@pytest.mark.parametrize(
    ("role", "own_tools"),
    [
        ("strategy", set()),
        ("prd", set()),
        ("designer", {"generate_image"}),
        ("architect", {"create_child_card"}),
        ("dev_backend", READS_CODE | {"write_file", "apply_patch", "commit", "run_command"}),
        ("reviewer", READS_CODE),
        ("qa", READS_CODE | {"run_command"}),
    ],
)
async def test_a_role_is_offered_the_document_and_card_tools_and_only_the_tools_its_job_needs(
    peers: Peers, role: str, own_tools: set[str]
) -> None:
    peers.lane_agent(role)
    await peers.move_into_lane()
    assert peers.tools_offered() == DOCUMENT_AND_CARD_TOOLS | own_tools
    [first] = peers.router.calls_to("POST", CHAT)
    system = first.body["messages"][0]["content"]
    assert ("create_child_card" in system) == (role == "architect")
    assert ("generate_image" in system) == (role == "designer")
    assert ("view_diff" in system) == bool(own_tools & READS_CODE)
    [completed] = peers.events("agent.run.completed")
    assert (completed.agent, completed.steps) == (role, 1)


async def test_the_designer_works_with_tools_on_its_default_model_and_draws_with_the_image_model(
    peers: Peers,
) -> None:
    peers.lane_agent("designer")
    image = {
        "created": 1,
        "data": [{"url": f"{MODEL_URL}/v1/images/files/{IMAGE_NAME}"}],
        "usage": {"input_tokens": 12, "images": 1},
        "agentworks": {"provider": "nano-banana", "model": "gemini-2.5-flash-image", "cost": "0.039"},
    }
    peers.router.on("POST", IMAGES, Answer(200, image))
    brief = {"name": "design_brief", "title": "Design brief", "content": "# Saved cards\n\nOne screen."}
    peers.router.on(
        "POST",
        CHAT,
        scripted(
            lambda _: turn("Writing the brief.", [("call_1", "write_document", brief)]),
            lambda _: turn("Drawing it.", [("call_2", "generate_image", {"prompt": "The saved cards screen"})]),
            lambda _: turn("Done: the brief and one concept."),
        ),
    )
    await peers.move_into_lane()
    [chat, *_] = peers.router.calls_to("POST", CHAT)
    assert chat.body["model"] == REGISTRY["designer"].model == "gemini-2.5-flash"
    [drawn] = peers.router.calls_to("POST", IMAGES)
    assert (drawn.body["model"], drawn.body["prompt"], drawn.body["response_format"]) == (
        "gemini-2.5-flash-image",
        "The saved cards screen",
        "url",
    )
    [run_started] = peers.events("agent.run.started")
    assert (drawn.headers["x-aw-run-id"], drawn.headers["x-aw-agent"]) == (str(run_started.run_id), "designer")
    steps = peers.events("agent.run.step")
    assert [[effect.kind for effect in step.effects] for step in steps] == [["document.write"], ["image.generated"], []]
    [shown] = steps[1].effects
    assert (shown.name, shown.prompt, shown.content_type) == (IMAGE_NAME, "The saved cards screen", "image/png")
    # The image is part of what the run spent: settled with the model's three calls, as the router recorded them.
    [settled] = peers.events("usage.run_settled")
    assert (settled.cost, settled.provider_calls) == (Decimal("0.0030") + Decimal("0.039"), 4)


async def test_a_designer_on_an_image_model_answers_once_under_the_json_contract(peers: Peers) -> None:
    peers.lane_agent("designer", provider="nano-banana", model="gemini-2.5-flash-image")
    document = {"kind": "design_brief", "title": "Design brief", "content": "# Saved cards"}
    answer = f'Drafted.\n```json\n{{"summary": "ok", "documents": [{json.dumps(document)}]}}\n```'
    peers.router.on("POST", CHAT, turn(answer, model="gemini-2.5-flash-image"))
    await peers.move_into_lane()
    [chat] = peers.router.calls_to("POST", CHAT)
    assert "tools" not in chat.body
    assert 'AGENTWORKS_OUTPUT_CONTRACT: {"documents": ["design_brief"]' in chat.body["messages"][0]["content"]
    assert peers.events("agent.run.step") == []
    [completed] = peers.events("agent.run.completed")
    assert [d.kind for d in completed.artifacts.documents] == ["design_brief"]


async def test_read_card_shows_the_cards_acceptance_criteria_and_checklist(peers: Peers) -> None:
    peers.lane_agent("dev_backend")
    peers.card_fields = {
        "acceptance_criteria": ["A saved card is offered at checkout", "A customer can remove a saved card"],
        "checklist": [{"text": "Agree the vault provider", "done": True}, {"text": "Write the migration"}],
    }
    peers.router.on(
        "POST",
        CHAT,
        scripted(lambda _: turn("Reading.", [("call_1", "read_card", {})]), lambda _: turn("Read it.")),
    )
    await peers.move_into_lane()
    [read, _] = peers.events("agent.run.step")
    assert read.tool_calls[0].result == (
        f"Card {peers.card} (feature): Saved cards\n\n"
        "Pay in one step with a card on file.\n\n"
        "Acceptance criteria:\n- A saved card is offered at checkout\n- A customer can remove a saved card\n\n"
        "Checklist:\n- [x] Agree the vault provider\n- [ ] Write the migration"
    )


async def test_add_checklist_items_asks_core_for_only_the_lines_the_checklist_does_not_have(peers: Peers) -> None:
    peers.lane_agent("dev_backend")
    peers.card_fields = {"checklist": [{"text": "Agree the vault provider", "done": True}]}
    lines = ["Agree the vault provider", "Write the migration", "Write the migration", "Add the endpoints"]
    peers.router.on(
        "POST",
        CHAT,
        scripted(
            lambda _: turn("Planning.", [("call_1", "add_checklist_items", {"items": lines})]),
            lambda _: turn("Planned."),
        ),
    )
    await peers.move_into_lane()
    [planned, _] = peers.events("agent.run.step")
    [record] = planned.tool_calls
    assert (record.ok, record.result) == (
        True,
        "Added 2 line(s) to the checklist. 2 it already had (or repeated) were skipped.",
    )
    [effect] = planned.effects
    assert (effect.kind, effect.add, effect.check, effect.uncheck) == (
        "card.checklist", ("Write the migration", "Add the endpoints"), (), (),
    )  # fmt: skip


async def test_check_checklist_item_ticks_a_line_by_its_text_as_the_card_is_now_and_names_a_missing_one(
    peers: Peers,
) -> None:
    peers.lane_agent("qa")

    def a_person_added_a_line_meanwhile(_: list[dict[str, Any]]) -> Answer:
        peers.card_fields = {"checklist": [{"text": "Write the migration"}]}
        uses: list[ToolUse] = [
            ("call_2", "check_checklist_item", {"text": "Write the migration"}),
            ("call_3", "check_checklist_item", {"text": "Deploy", "done": False}),
        ]
        return turn("Ticking.", uses)

    peers.router.on(
        "POST",
        CHAT,
        scripted(
            lambda _: turn("Reading.", [("call_1", "read_card", {})]),
            a_person_added_a_line_meanwhile,
            lambda _: turn("Ticked."),
        ),
    )
    await peers.move_into_lane()
    [read, ticking, _] = peers.events("agent.run.step")
    assert read.tool_calls[0].result.endswith("Checklist: empty.")  # as the card was when the run started
    ticked, missing = ticking.tool_calls
    assert (ticked.ok, ticked.result) == (True, "Ticked 'Write the migration'.")
    assert (missing.ok, missing.error) == (
        False, "No checklist line reads 'Deploy'; use a line's exact text. The checklist:\n- Write the migration",
    )  # fmt: skip
    [effect] = ticking.effects
    assert (effect.kind, effect.call_id, effect.check, effect.uncheck) == (
        "card.checklist", "call_2", ("Write the migration",), (),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "arguments", "problem"),
    [
        ("update_card", {"checklist": [{"text": "Mine only"}]}, "checklist: Extra inputs are not permitted"),
        ("update_card", {}, "description: Field required"),
        ("add_checklist_items", {"items": []}, "items: List should have at least 1 item after validation"),
        ("add_checklist_items", {"items": ["x" * 501]}, "items.0: Value should have at most 500 items"),
        ("add_checklist_items", {"items": ["Step"] * 101}, "items: List should have at most 100 items"),
        ("check_checklist_item", {"text": ""}, "text: Value should have at least 1 item"),
    ],
)
async def test_no_role_can_write_a_whole_checklist_and_each_checklist_call_is_validated(
    peers: Peers, tool: str, arguments: dict[str, Any], problem: str
) -> None:
    peers.lane_agent("dev_backend")
    peers.router.on(
        "POST", CHAT, scripted(lambda _: turn("Changing.", [("call_1", tool, arguments)]), lambda _: turn("Stopped."))
    )
    await peers.move_into_lane()
    [refused, _] = peers.events("agent.run.step")
    [record] = refused.tool_calls
    assert (record.ok, refused.effects) == (False, ())
    assert record.error is not None
    assert problem in record.error, record.error


async def test_add_checklist_items_to_a_full_checklist_adds_nothing(peers: Peers) -> None:
    peers.lane_agent("dev_backend")
    peers.card_fields = {"checklist": [{"text": f"Line {n}"} for n in range(100)]}
    peers.router.on(
        "POST",
        CHAT,
        scripted(
            lambda _: turn("Planning.", [("call_1", "add_checklist_items", {"items": ["One more"]})]),
            lambda _: turn("Planned."),
        ),
    )
    await peers.move_into_lane()
    [planned, _] = peers.events("agent.run.step")
    assert (planned.tool_calls[0].error, planned.effects) == (
        "The checklist is full (100 lines); nothing was added.", (),
    )  # fmt: skip


async def test_create_child_card_answers_the_childs_id_and_title_and_a_later_step_comments_on_it(
    peers: Peers,
) -> None:
    peers.lane_agent("architect")
    child = {"title": "Saved cards: API", "acceptance_criteria": ["Lists the caller's saved cards"]}

    def comment_on_the_child(messages: list[dict[str, Any]]) -> Answer:
        [created] = tool_results(messages)
        found = re.match(r"Created the child card ([0-9a-f-]{36}) ", created)
        assert found is not None, created
        return turn("Noting it.", [("call_2", "comment", {"body": "Start here.", "card_id": found[1]})])

    peers.router.on(
        "POST",
        CHAT,
        scripted(
            lambda _: turn("Splitting.", [("call_1", "create_child_card", child)]),
            comment_on_the_child,
            lambda _: turn("Split."),
        ),
    )
    await peers.move_into_lane()
    [run_started] = peers.events("agent.run.started")
    made = child_card_id_for(run_started.run_id, 1, "call_1")
    first, second, _ = peers.events("agent.run.step")
    assert first.tool_calls[0].result.startswith(
        f"Created the child card {made} in Ready (lane 4), where the team picks it up: Saved cards: API\n"
    )
    [created] = first.effects
    assert (created.kind, created.call_id, created.title) == ("card.create_child", "call_1", "Saved cards: API")
    [noted] = second.effects
    assert (noted.kind, noted.card_id) == ("card.comment", made)


async def test_a_role_that_does_not_break_work_down_cannot_create_a_child_card(peers: Peers) -> None:
    peers.lane_agent("prd")
    peers.router.on(
        "POST",
        CHAT,
        scripted(
            lambda _: turn("Splitting.", [("call_1", "create_child_card", {"title": "More work"})]),
            lambda _: turn("I cannot split it."),
        ),
    )
    await peers.move_into_lane()
    [refused, _] = peers.events("agent.run.step")
    [record] = refused.tool_calls
    assert (record.ok, refused.effects) == (False, ())
    assert record.error is not None
    assert "no tool named 'create_child_card'" in record.error
