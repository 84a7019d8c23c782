"""Tool-using runs: the loop's steps, their checkpoints and effects, resume after a crash, limits and cancel."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import pytest
from agentworks_events import utc_now
from agentworks_internal_api.core import ContextCardOut
from agentworks_orchestrator.config import RunLimits
from agentworks_orchestrator.models import BudgetState, Run, RunCheckpoint
from agentworks_orchestrator.runs import tools
from agentworks_orchestrator.runs.executor import call_headers
from agentworks_orchestrator.runs.tools import NoArguments, Tool, ToolContext, ToolOutcome
from agentworks_orchestrator.state import run_service_of
from sqlalchemy import select

from .conftest import ORCHESTRATOR_URL, ManualClock, Stack
from .test_control import _principal_headers

TOOL_ROLES = frozenset({"prd", "architect", "designer"})


async def _tool_stack(make_stack: Any, exits: AsyncExitStack, **overrides: Any) -> Stack:
    stack: Stack = await make_stack(exits, tool_roles=TOOL_ROLES, **overrides)
    return stack


async def test_the_offline_model_drives_a_whole_session_through_the_tools(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits)
        assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
        steps = stack.events("agent.run.step")
        assert [s.step for s in steps] == [1, 2, 3, 4]
        assert [[c.tool for c in s.tool_calls] for s in steps] == [
            ["read_card"],
            ["write_document", "create_child_card", "create_child_card"],
            ["comment"],
            [],
        ]
        assert all(c.ok for s in steps for c in s.tool_calls)
        assert "Checkout" in steps[0].tool_calls[0].result
        assert "offline model" in steps[0].text
        kinds = [e.kind for s in steps for e in s.effects]
        assert kinds == ["document.write", "card.create_child", "card.create_child", "card.comment"]
        [document] = steps[1].effects[:1]
        assert (document.name, document.call_id) == ("prd", steps[1].tool_calls[0].call_id)
        assert steps[2].effects[0].card_id == stack.ids["card"]
        [completed] = stack.events("agent.run.completed")
        assert (completed.steps, completed.stopped_at_limit) == (4, None)
        assert completed.artifacts.documents == ()
        assert completed.artifacts.summary.startswith("Done:")
        [settled] = stack.events("usage.run_settled")
        usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
        assert settled.provider_calls == len(usage) == 4
        logs = [line.text for event in stack.events("agent.run.log") for line in event.lines]
        assert "→ read_card()" in logs
        async with stack.orchestrator.state.ctx.db.transaction() as session:
            checkpoints = (await session.scalars(select(RunCheckpoint).order_by(RunCheckpoint.step))).all()
        assert [c.step for c in checkpoints] == [1, 2, 3, 4]
        assert [m["role"] for m in checkpoints[0].messages] == ["system", "user", "assistant", "tool"]


async def _until(stack: Stack, kind: str, count: int = 1) -> None:
    while len(stack.events(kind)) < count:  # noqa: ASYNC110 - events arrive through the sink
        await asyncio.sleep(0.01)


async def test_an_executor_killed_mid_loop_resumes_at_the_next_step_with_no_effect_twice(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        clock = ManualClock()
        stack = await _tool_stack(make_stack, exits, clock=clock, token_delay=0.01)
        moved = stack.moved(to_lane=1)
        service = run_service_of(stack.orchestrator.state.ctx)
        crashed = asyncio.create_task(service.on_card_event(moved))
        await _until(stack, "agent.run.step", 2)
        crashed.cancel()  # the process died in step 3: no completion, no settlement
        await asyncio.gather(crashed, return_exceptions=True)
        assert stack.events("agent.run.completed") == []
        clock.advance(service.settings.lease_seconds + 1)
        assert (await stack.push(moved)).status_code == 204
        steps = stack.events("agent.run.step")
        assert [(s.step, s.attempt) for s in steps] == [(1, 1), (2, 1), (3, 2), (4, 2)]
        effects = [(s.step, e.call_id) for s in steps for e in s.effects]
        assert len(effects) == len(set(effects)) == 4
        # The resumed attempt went on from the checkpointed conversation: its first call saw step 2's results.
        [completed] = stack.events("agent.run.completed")
        assert (completed.attempt, completed.steps) == (2, 4)
        usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
        [settled] = stack.events("usage.run_settled")
        assert settled.provider_calls == len(usage)
        assert 4 <= len(usage) <= 5  # the call cut off in step 3 is settled too
        assert [e.attempt for e in stack.events("agent.run.started")] == [1, 2]


@pytest.mark.parametrize(
    ("limits", "limit", "steps"),
    [
        (RunLimits(max_steps=2), "steps", 2),
        (RunLimits(max_tokens=10), "tokens", 1),
        (RunLimits(max_seconds=0.05), "time", 1),
    ],
)
async def test_a_run_stops_at_its_role_limit_saying_which(
    make_stack: Any, limits: RunLimits, limit: str, steps: int
) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits, role_limits={"prd": limits}, token_delay=0.01)
        assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
        [completed] = stack.events("agent.run.completed")
        assert (completed.stopped_at_limit, completed.steps) == (limit, steps)
        assert completed.artifacts.summary.startswith("Stopped before finishing: it ")
        assert [s.step for s in stack.events("agent.run.step")] == list(range(1, steps + 1))
        logs = [line.text for event in stack.events("agent.run.log") for line in event.lines]
        assert any(line.startswith("■ stopped:") for line in logs)
        [settled] = stack.events("usage.run_settled")
        assert (settled.run_status, settled.provider_calls) == ("completed", steps)


async def test_cancel_interrupts_a_running_tool_and_publishes_no_effect_of_its_step(
    make_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, never = asyncio.Event(), asyncio.Event()

    async def stuck(_context: ToolContext, _arguments: NoArguments) -> ToolOutcome:
        started.set()
        await never.wait()
        return ToolOutcome("unreachable")

    slow_card = Tool("read_card", "Read the card.", NoArguments, stuck)
    monkeypatch.setattr(tools, "CARD_TOOLS", (slow_card, *tools.CARD_TOOLS[1:]))
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits, cancel_poll_seconds=0.02)
        running = asyncio.create_task(stack.push(stack.moved(to_lane=1)))
        await asyncio.wait_for(started.wait(), 10)
        run_id = stack.events("agent.run.started")[0].run_id
        async with stack.client(stack.orchestrator, ORCHESTRATOR_URL) as client:
            response = await client.post(f"/api/runs/{run_id}/cancel", headers=_principal_headers(stack))
        assert response.json()["status"] == "cancelling"
        assert (await asyncio.wait_for(running, 10)).status_code == 204
        assert stack.events("agent.run.step") == []
        [cancelled] = stack.events("agent.run.cancelled")
        assert cancelled.cost == Decimal(0)
        assert [s.run_status for s in stack.events("usage.run_settled")] == ["cancelled"]


async def test_cancel_between_steps_stops_before_the_next_model_call(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits, token_delay=0.02)
        running = asyncio.create_task(stack.push(stack.moved(to_lane=1)))
        await _until(stack, "agent.run.step")
        run_id = stack.events("agent.run.started")[0].run_id
        async with stack.client(stack.orchestrator, ORCHESTRATOR_URL) as client:
            await client.post(f"/api/runs/{run_id}/cancel", headers=_principal_headers(stack))
        assert (await asyncio.wait_for(running, 10)).status_code == 204
        assert len(stack.events("agent.run.step")) <= 2  # the step under way when cancel came, at most
        assert len(stack.events("agent.run.cancelled")) == 1
        async with stack.orchestrator.state.ctx.db.transaction() as session:
            run = (await session.scalars(select(Run))).one()
        assert run.status == "cancelled"


async def test_a_tool_call_with_invalid_arguments_is_fed_back_as_an_error_the_model_can_act_on(
    make_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits)
        context = ToolContext(
            run_id=stack.ids["card"],
            workspace_id=stack.ids["workspace"],
            project_id=stack.ids["project"],
            card_id=stack.ids["card"],
            card=ContextCardOut(id=stack.ids["card"], title="Checkout", description="", card_type="feature"),
            documents=("prd",),
            core=run_service_of(stack.orchestrator.state.ctx).core,
            llm=run_service_of(stack.orchestrator.state.ctx).executor.llm,
            image_model="offline-image",
        )
        offered = tools.tools_of("prd")
        bad_json = await tools.perform(tools.ToolCall("c1", "write_document", "{not json"), offered, context)
        missing = await tools.perform(tools.ToolCall("c2", "write_document", '{"name": "prd"}'), offered, context)
        other = await tools.perform(
            tools.ToolCall("c3", "write_document", '{"name": "blueprint", "title": "B", "content": "x"}'),
            offered,
            context,
        )
        unknown = await tools.perform(tools.ToolCall("c4", "lookup", "{}"), offered, context)
        nul = '{"name": "prd", "title": "P\\u0000", "content": "x\u0000"}'
        record, written = await tools.perform(tools.ToolCall("c5", "write_document", nul), offered, context)
        assert record.arguments == {"name": "prd", "title": "P\ufffd", "content": "x\ufffd"}
        assert written is not None
        assert (written.title, written.content) == ("P\ufffd", "x\ufffd")  # type: ignore[union-attr]
        for record, effect in (bad_json, missing, other, unknown):
            assert (record.ok, effect) == (False, None)
            assert record.result.startswith("Error: ")
        assert "JSON object" in bad_json[0].result
        assert "title: Field required" in missing[0].result
        assert "writes the documents prd" in other[0].result
        assert "no tool named 'lookup'" in unknown[0].result


async def test_a_disabled_agent_of_the_lane_publishes_that_it_was_skipped(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits)
        project = stack.ids["project"]
        await stack.core_call(
            "PUT", f"/api/projects/{project}/agents/prd", {"provider": "openai", "model": "gpt-5", "enabled": False}
        )
        moved = stack.moved(to_lane=1)
        assert (await stack.push(moved)).status_code == 204
        [skipped] = stack.events("agent.run.skipped")
        assert (skipped.agent, skipped.reason_code, skipped.card_id) == ("prd", "disabled", stack.ids["card"])
        assert "disabled" in skipped.reason
        assert stack.events("agent.run.started") == []


async def test_a_budget_spent_mid_run_fails_it_before_the_next_model_call(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits, token_delay=0.02)
        running = asyncio.create_task(stack.push(stack.moved(to_lane=1)))
        await _until(stack, "agent.run.step")
        async with stack.orchestrator.state.ctx.db.transaction() as session:
            session.add(
                BudgetState(
                    scope_id=stack.ids["workspace"],
                    workspace_id=stack.ids["workspace"],
                    period=utc_now().strftime("%Y-%m"),
                    exceeded=True,
                    updated_at=utc_now(),
                )
            )
        assert (await asyncio.wait_for(running, 10)).status_code == 204
        [failed] = stack.events("agent.run.failed")
        assert failed.error_code == "budget_exceeded"
        assert len(stack.events("agent.run.step")) <= 2
        usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
        [settled] = stack.events("usage.run_settled")
        assert (settled.run_status, settled.provider_calls) == ("failed", len(usage))


async def test_the_designer_generates_an_image_kept_under_the_runs_workspace(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        stack = await _tool_stack(make_stack, exits)
        service = run_service_of(stack.orchestrator.state.ctx)
        run_id = uuid.uuid4()
        context = ToolContext(
            run_id=run_id,
            workspace_id=stack.ids["workspace"],
            project_id=stack.ids["project"],
            card_id=stack.ids["card"],
            card=ContextCardOut(id=stack.ids["card"], title="Checkout", description="", card_type="feature"),
            documents=("design_brief",),
            core=service.core,
            llm=service.executor.llm,
            image_model="offline-image",
            headers=call_headers(stack.ids["workspace"], stack.ids["project"], run_id, "designer", stack.ids["card"]),
        )
        offered = tools.tools_of("designer")
        assert "generate_image" in [t.name for t in offered]
        assert "generate_image" not in [t.name for t in tools.tools_of("prd")]
        call = tools.ToolCall("c1", "generate_image", '{"prompt": "a one-page checkout"}')
        record, effect = await tools.perform(call, offered, context)
        assert record.ok, record.error
        assert effect is not None
        assert effect.kind == "image.generated"
        assert effect.name.endswith(".png")  # type: ignore[union-attr]
        assert effect.prompt == "a one-page checkout"  # type: ignore[union-attr]
        [usage] = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
        assert (usage.run_id, usage.agent) == (run_id, "designer")
