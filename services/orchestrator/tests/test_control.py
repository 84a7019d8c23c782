"""Cancel, the CoPilot console, and malformed output with its one repair attempt."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import pytest
from agentworks_events import UsageBudgetExceeded, utc_now
from agentworks_platform.peer_stub import Answer, Call, PeerStub
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account

from .conftest import ORCHESTRATOR_URL, Stack

GOOD = 'Drafting.\n```json\n{"summary": "ok", "documents": [{"kind": "prd", "title": "PRD", "content": "# PRD"}]}\n```'
BAD = "I forgot the block."


CHAT = "/v1/chat/completions"


def chunk(**fields: Any) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", **fields}


class ScriptedModel:
    """The provider router's chat completions, answering with scripted texts streamed as the router streams
    them (line by line, then its usage chunk with the cost it recorded)."""

    def __init__(self, router: PeerStub) -> None:
        self.answers: list[str] = []
        self.router = router.on("POST", CHAT, self.complete)

    @property
    def requests(self) -> list[Any]:
        return [call.body for call in self.router.calls_to("POST", CHAT)]

    def complete(self, _call: Call) -> Answer:
        text = self.answers.pop(0) if self.answers else GOOD
        lines = [
            chunk(choices=[{"index": 0, "delta": {"content": line}, "finish_reason": None}])
            for line in text.splitlines(keepends=True)
        ]
        usage = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
        cost = {"provider": "openai", "model": "gpt-4-turbo", "cost": "0.0025", "requested_provider": "openai"}
        return Answer.stream([*lines, chunk(choices=[], usage=usage, agentworks={**cost, "attempts": 1})])


@pytest.fixture
def model(peer_stub: Callable[[str], PeerStub]) -> ScriptedModel:
    return ScriptedModel(peer_stub("provider-router"))


# The next three run the JSON block contract, which a role whose model cannot call tools keeps.
async def test_malformed_output_gets_one_repair_then_succeeds(make_stack: Any, model: ScriptedModel) -> None:
    async with AsyncExitStack() as exits:
        stack: Stack = await make_stack(exits, model=model.router, tool_roles=frozenset())
        model.answers = [BAD, GOOD]
        await stack.push(stack.moved(to_lane=1))
        [completed] = stack.events("agent.run.completed")
        assert [d.kind for d in completed.artifacts.documents] == ["prd"]
        assert len(model.requests) == 2
        assert "did not end with a valid" in model.requests[1]["messages"][-1]["content"]
        # the router sends its usage chunk (tokens and cost) only to a client that asks for it
        assert [r["stream_options"] for r in model.requests] == [{"include_usage": True}] * 2
        [settled] = stack.events("usage.run_settled")
        assert settled.cost == completed.cost == Decimal("0.0050")  # both calls are paid for
        assert settled.price == Decimal("0.25")


async def test_output_still_malformed_after_repair_fails_clearly(make_stack: Any, model: ScriptedModel) -> None:
    async with AsyncExitStack() as exits:
        stack: Stack = await make_stack(exits, model=model.router, tool_roles=frozenset())
        model.answers = [BAD, BAD]
        await stack.push(stack.moved(to_lane=1))
        [failed] = stack.events("agent.run.failed")
        assert failed.error_code == "malformed_output"
        assert "after one repair attempt" in failed.reason
        assert len(model.requests) == 2
        [settled] = stack.events("usage.run_settled")
        assert settled.run_status == "failed"
        logs = " ".join(line.text for e in stack.events("agent.run.log") for line in e.lines)
        assert "asking for a repair" in logs


async def test_nul_from_the_model_reaches_no_log_line_or_artifact(make_stack: Any, model: ScriptedModel) -> None:
    """PostgreSQL cannot store NUL in text: model output shows each one as U+FFFD before it is published."""
    raw_nul = "thinking\x00aloud\n"
    escaped_nul = '```json\n{"summary": "s\\u0000", "documents": [{"kind": "prd", "title": "P\\u0000", '
    escaped_nul += '"content": "# P\\u0000RD"}]}\n```'
    async with AsyncExitStack() as exits:
        stack: Stack = await make_stack(exits, model=model.router, tool_roles=frozenset())
        model.answers = [raw_nul + escaped_nul]
        await stack.push(stack.moved(to_lane=1))
        [completed] = stack.events("agent.run.completed")
        [document] = completed.artifacts.documents
        assert (document.title, document.content, completed.artifacts.summary) == ("P\ufffd", "# P\ufffdRD", "s\ufffd")
        logs = [line.text for e in stack.events("agent.run.log") for line in e.lines]
        assert "thinking\ufffdaloud" in logs
        assert not any("\x00" in line for line in logs)


def _principal_headers(stack: Stack) -> dict[str, str]:
    token = LocalTokenSigner(stack.key, dev_service_account("gateway")).sign(ORCHESTRATOR_URL)
    return {"authorization": f"Bearer {token}", **stack.owner.headers()}


async def test_cancel_stops_a_running_run_and_settles_it_once(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        stack: Stack = await make_stack(exits, token_delay=0.02)
        moved = stack.moved(to_lane=1)
        running = asyncio.create_task(stack.push(moved))
        while not stack.events("agent.run.log"):  # noqa: ASYNC110 - events arrive through the sink
            await asyncio.sleep(0.01)
        run_id = stack.events("agent.run.started")[0].run_id
        async with stack.client(stack.orchestrator, ORCHESTRATOR_URL) as client:
            response = await client.post(f"/api/runs/{run_id}/cancel", headers=_principal_headers(stack))
        assert response.json()["status"] == "cancelling"
        assert (await running).status_code == 204
        [cancelled] = stack.events("agent.run.cancelled")
        assert cancelled.cancelled_by == stack.owner.user_id
        assert stack.events("agent.run.completed") == []
        assert [s.run_status for s in stack.events("usage.run_settled")] == ["cancelled"]
        async with stack.client(stack.orchestrator, ORCHESTRATOR_URL) as client:
            again = await client.post(f"/api/runs/{run_id}/cancel", headers=_principal_headers(stack))
            stranger = Principal(uuid.uuid4(), "stranger@example.com", None, "r", "")
            token = LocalTokenSigner(stack.key, dev_service_account("gateway")).sign(ORCHESTRATOR_URL)
            foreign = await client.post(
                f"/api/runs/{run_id}/cancel", headers={"authorization": f"Bearer {token}", **stranger.headers()}
            )
        assert again.json()["status"] == "cancelled"
        assert foreign.status_code == 404


async def test_copilot_console_streams_an_answer_and_records_the_run(stack: Stack) -> None:
    async with stack.client(stack.orchestrator, ORCHESTRATOR_URL) as client:
        response = await client.post(
            f"/api/projects/{stack.ids['project']}/copilot",
            json={"question": "What should we build first?"},
            headers=_principal_headers(stack),
        )
    assert response.status_code == 200
    frames = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
    text = "".join(f.get("delta", "") for f in frames)
    assert "[offline model" in text
    assert "What should we build first?" in text
    assert frames[-1]["status"] == "completed"
    [started] = stack.events("agent.run.started")
    assert (started.kind, started.card_id, started.agent) == ("console", None, "ceo_copilot")
    assert len(stack.events("usage.run_settled")) == 1


async def test_the_console_is_refused_once_the_budget_is_spent(stack: Stack) -> None:
    exceeded = UsageBudgetExceeded(
        workspace_id=stack.ids["workspace"],
        project_id=stack.ids["project"],
        scope="workspace",
        period=utc_now().strftime("%Y-%m"),
        cap=Decimal(10),
        spent=Decimal(10),
    )
    assert (await stack.push(exceeded, "orchestrator-usage-events")).status_code == 204
    async with stack.client(stack.orchestrator, ORCHESTRATOR_URL) as client:
        response = await client.post(
            f"/api/projects/{stack.ids['project']}/copilot",
            json={"question": "Anything?"},
            headers=_principal_headers(stack),
        )
    assert (response.status_code, response.json()["error"]["code"]) == (402, "budget_exceeded")
    assert stack.events("agent.run.started") == []
    assert stack.router_sink.published == []
