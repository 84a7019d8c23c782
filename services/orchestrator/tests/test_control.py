"""Cancel, the CoPilot console, and malformed output with its one repair attempt."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

from agentworks_events import UsageBudgetExceeded, run_id_for, utc_now
from agentworks_platform.principal import Principal

from .conftest import CALL_COST, CONTEXT, Orchestrator, Turn

GOOD = 'Drafting.\n```json\n{"summary": "ok", "documents": [{"kind": "prd", "title": "PRD", "content": "# PRD"}]}\n```'
BAD = "I forgot the block."


async def _single_call(make_orchestrator: Any, exits: AsyncExitStack) -> Orchestrator:
    """Runs whose model cannot call tools, which keep the JSON block contract."""
    orchestrator: Orchestrator = await make_orchestrator(exits, tool_roles=frozenset())
    return orchestrator


# The next three run the JSON block contract, which a role whose model cannot call tools keeps.
async def test_malformed_output_gets_one_repair_then_succeeds(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await _single_call(make_orchestrator, exits)
        orchestrator.model.script = [Turn(BAD), Turn(GOOD)]
        await orchestrator.push(orchestrator.moved(to_lane=1))
        [completed] = orchestrator.events("agent.run.completed")
        assert [d.kind for d in completed.artifacts.documents] == ["prd"]
        requests = orchestrator.model.requests
        assert len(requests) == 2
        assert "did not end with a valid" in requests[1]["messages"][-1]["content"]
        # the router sends its usage chunk (tokens and cost) only to a client that asks for it
        assert [r["stream_options"] for r in requests] == [{"include_usage": True}] * 2
        [settled] = orchestrator.events("usage.run_settled")
        assert settled.cost == completed.cost == CALL_COST * 2  # both calls are paid for
        assert settled.price == Decimal("0.25")


async def test_output_still_malformed_after_repair_fails_clearly(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await _single_call(make_orchestrator, exits)
        orchestrator.model.script = [Turn(BAD), Turn(BAD)]
        await orchestrator.push(orchestrator.moved(to_lane=1))
        [failed] = orchestrator.events("agent.run.failed")
        assert failed.error_code == "malformed_output"
        assert "after one repair attempt" in failed.reason
        assert len(orchestrator.model.requests) == 2
        [settled] = orchestrator.events("usage.run_settled")
        assert settled.run_status == "failed"
        logs = " ".join(line.text for e in orchestrator.events("agent.run.log") for line in e.lines)
        assert "asking for a repair" in logs


async def test_nul_from_the_model_reaches_no_log_line_or_artifact(make_orchestrator: Any) -> None:
    """PostgreSQL cannot store NUL in text: model output shows each one as U+FFFD before it is published."""
    raw_nul = "thinking\x00aloud\n"
    escaped_nul = '```json\n{"summary": "s\\u0000", "documents": [{"kind": "prd", "title": "P\\u0000", '
    escaped_nul += '"content": "# P\\u0000RD"}]}\n```'
    async with AsyncExitStack() as exits:
        orchestrator = await _single_call(make_orchestrator, exits)
        orchestrator.model.script = [Turn(raw_nul + escaped_nul)]
        await orchestrator.push(orchestrator.moved(to_lane=1))
        [completed] = orchestrator.events("agent.run.completed")
        [document] = completed.artifacts.documents
        assert (document.title, document.content, completed.artifacts.summary) == ("P\ufffd", "# P\ufffdRD", "s\ufffd")
        logs = [line.text for e in orchestrator.events("agent.run.log") for line in e.lines]
        assert "thinking\ufffdaloud" in logs
        assert not any("\x00" in line for line in logs)


async def test_cancel_stops_a_running_run_and_settles_it_once(orchestrator: Orchestrator) -> None:
    held = orchestrator.model.hold(1)
    moved = orchestrator.moved(to_lane=1)
    running = asyncio.create_task(orchestrator.push(moved))
    await held.arrived.wait()
    cancel = f"/api/runs/{run_id_for(moved.id, 'prd')}/cancel"
    assert (await orchestrator.api(cancel)).json()["status"] == "cancelling"
    held.release.set()
    assert (await running).status_code == 204
    [cancelled] = orchestrator.events("agent.run.cancelled")
    assert cancelled.cancelled_by == orchestrator.owner.user_id
    assert orchestrator.events("agent.run.completed") == []
    assert [s.run_status for s in orchestrator.events("usage.run_settled")] == ["cancelled"]
    assert (await orchestrator.api(cancel)).json()["status"] == "cancelled"
    stranger = Principal(uuid.uuid4(), "stranger@example.com", None, "r", "")
    assert (await orchestrator.api(cancel, principal=stranger)).status_code == 404


async def test_copilot_console_streams_an_answer_and_records_the_run(orchestrator: Orchestrator) -> None:
    orchestrator.model.script = [Turn("Build the checkout first:\nit is what pays.")]
    question = {"question": "What should we build first?"}
    response = await orchestrator.api(f"/api/projects/{orchestrator.project}/copilot", question)
    assert response.status_code == 200
    frames = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
    assert "".join(f.get("delta", "") for f in frames) == "Build the checkout first:\nit is what pays."
    assert (frames[-1]["status"], Decimal(frames[-1]["cost"])) == ("completed", CALL_COST)
    [asked] = orchestrator.core.calls_to("GET", CONTEXT)
    assert asked.query == {}  # the project's context, no card
    [request] = orchestrator.model.requests
    assert request["messages"][-1] == {"role": "user", "content": "What should we build first?"}
    [started] = orchestrator.events("agent.run.started")
    assert (started.kind, started.card_id, started.agent) == ("console", None, "ceo_copilot")
    assert len(orchestrator.events("usage.run_settled")) == 1


async def test_the_console_is_refused_once_the_budget_is_spent(orchestrator: Orchestrator) -> None:
    exceeded = UsageBudgetExceeded(
        workspace_id=orchestrator.workspace,
        project_id=orchestrator.project,
        scope="workspace",
        period=utc_now().strftime("%Y-%m"),
        cap=Decimal(10),
        spent=Decimal(10),
    )
    assert (await orchestrator.push(exceeded, "orchestrator-usage-events")).status_code == 204
    response = await orchestrator.api(f"/api/projects/{orchestrator.project}/copilot", {"question": "Anything?"})
    assert (response.status_code, response.json()["error"]["code"]) == (402, "budget_exceeded")
    assert orchestrator.events("agent.run.started") == []
    assert orchestrator.model.requests == []
