"""Tool-using runs: the loop's steps, their checkpoints and effects, resume after a crash, limits and cancel."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from typing import Any

import pytest
from agentworks_events import CardRunRequested, run_id_for, utc_now
from agentworks_internal_api.core import ContextCardOut
from agentworks_orchestrator import models
from agentworks_orchestrator.config import RunLimits
from agentworks_orchestrator.models import BudgetState, Run, RunCheckpoint
from agentworks_orchestrator.runs import roles, tools
from agentworks_orchestrator.runs.executor import RunExecutor, call_headers
from agentworks_orchestrator.runs.tools import NoArguments, Tool, ToolContext, ToolOutcome
from agentworks_orchestrator.state import run_service_of
from agentworks_platform.peer_stub import Answer, Call
from sqlalchemy import delete, func, select

from .conftest import CALL_COST, IMAGES, MODEL_URL, ManualClock, Orchestrator

TOOL_ROLES = frozenset({"prd", "architect", "designer"})


async def _with_tools(make_orchestrator: Any, exits: AsyncExitStack, **overrides: Any) -> Orchestrator:
    orchestrator: Orchestrator = await make_orchestrator(exits, tool_roles=TOOL_ROLES, **overrides)
    return orchestrator


async def test_a_run_goes_through_a_whole_session_of_tool_calls(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await _with_tools(make_orchestrator, exits)
        assert (await orchestrator.push(orchestrator.moved(to_lane=1))).status_code == 204
        steps = orchestrator.events("agent.run.step")
        assert [s.step for s in steps] == [1, 2, 3, 4]
        assert [[c.tool for c in s.tool_calls] for s in steps] == [
            ["read_card"],
            ["write_document"],
            ["comment"],
            [],
        ]
        assert all(c.ok for s in steps for c in s.tool_calls)
        assert "Checkout" in steps[0].tool_calls[0].result
        assert steps[0].text == "Reading the card."
        kinds = [e.kind for s in steps for e in s.effects]
        assert kinds == ["document.write", "card.comment"]
        [document] = steps[1].effects[:1]
        assert (document.name, document.call_id) == ("prd", steps[1].tool_calls[0].call_id)
        assert steps[2].effects[0].card_id == orchestrator.card
        [completed] = orchestrator.events("agent.run.completed")
        assert (completed.steps, completed.stopped_at_limit) == (4, None)
        assert completed.artifacts.documents == ()
        assert completed.artifacts.summary.startswith("Done:")
        [settled] = orchestrator.events("usage.run_settled")
        assert (settled.provider_calls, settled.cost) == (len(orchestrator.model.requests), CALL_COST * 4)
        # Each call offers the role's tools and carries the conversation so far, the tools' results included.
        first, second, *_ = orchestrator.model.requests
        assert "write_document" in [t["function"]["name"] for t in first["tools"]]
        assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
        logs = [line.text for event in orchestrator.events("agent.run.log") for line in event.lines]
        assert "→ read_card()" in logs
        async with orchestrator.db.transaction() as session:
            checkpoints = (await session.scalars(select(RunCheckpoint).order_by(RunCheckpoint.step))).all()
        assert [c.step for c in checkpoints] == [1, 2, 3, 4]
        assert checkpoints[0].messages == second["messages"]


async def test_an_executor_killed_mid_loop_resumes_at_the_next_step_with_no_effect_twice(
    make_orchestrator: Any,
) -> None:
    async with AsyncExitStack() as exits:
        clock = ManualClock()
        orchestrator = await _with_tools(make_orchestrator, exits, clock=clock)
        held = orchestrator.model.hold(3)
        moved = orchestrator.moved(to_lane=3)  # the Architect's run: its step 2 also makes child cards
        service = run_service_of(orchestrator.app.state.ctx)
        crashed = asyncio.create_task(service.on_card_event(moved))
        await held.arrived.wait()
        crashed.cancel()  # the process died in step 3's call: no completion, no settlement
        await asyncio.gather(crashed, return_exceptions=True)
        assert orchestrator.events("agent.run.completed") == []
        clock.advance(service.settings.lease_seconds + 1)
        assert (await orchestrator.push(moved)).status_code == 204
        steps = orchestrator.events("agent.run.step")
        assert [(s.step, s.attempt) for s in steps] == [(1, 1), (2, 1), (3, 2), (4, 2)]
        effects = [(s.step, e.call_id) for s in steps for e in s.effects]
        assert len(effects) == len(set(effects)) == 4
        # The resumed attempt went on from the checkpointed conversation: its first call saw step 2's results.
        cut, resumed = orchestrator.model.requests[2:4]
        assert resumed["messages"] == cut["messages"]
        assert any(
            m["content"].startswith("Created the child card") for m in resumed["messages"] if m["role"] == "tool"
        )
        [completed] = orchestrator.events("agent.run.completed")
        assert (completed.attempt, completed.steps) == (2, 4)
        [settled] = orchestrator.events("usage.run_settled")
        assert (settled.provider_calls, settled.cost) == (5, CALL_COST * 5)  # the call cut off in step 3 too
        assert [e.attempt for e in orchestrator.events("agent.run.started")] == [1, 2]


@pytest.mark.parametrize(
    ("limits", "limit", "steps"),
    [
        (RunLimits(max_steps=2), "steps", 2),
        (RunLimits(max_tokens=10), "tokens", 1),
        (RunLimits(max_seconds=0.5), "time", 1),
    ],
)
async def test_a_run_stops_at_its_role_limit_saying_which(
    make_orchestrator: Any, limits: RunLimits, limit: str, steps: int
) -> None:
    async with AsyncExitStack() as exits:
        clock = ManualClock()
        orchestrator = await _with_tools(make_orchestrator, exits, clock=clock, role_limits={"prd": limits})
        orchestrator.model.on_call = lambda: clock.advance(1)  # each model call takes a second
        assert (await orchestrator.push(orchestrator.moved(to_lane=1))).status_code == 204
        [completed] = orchestrator.events("agent.run.completed")
        assert (completed.stopped_at_limit, completed.steps) == (limit, steps)
        assert completed.artifacts.summary.startswith("Stopped before finishing: it ")
        assert [s.step for s in orchestrator.events("agent.run.step")] == list(range(1, steps + 1))
        logs = [line.text for event in orchestrator.events("agent.run.log") for line in event.lines]
        assert any(line.startswith("■ stopped:") for line in logs)
        [settled] = orchestrator.events("usage.run_settled")
        assert (settled.run_status, settled.provider_calls) == ("completed", steps)
        assert len(orchestrator.model.requests) == steps


async def test_cancel_interrupts_a_running_tool_and_publishes_no_effect_of_its_step(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, never = asyncio.Event(), asyncio.Event()

    async def stuck(_context: ToolContext, _arguments: NoArguments) -> ToolOutcome:
        started.set()
        await never.wait()
        return ToolOutcome("unreachable")

    slow_card = Tool("read_card", "Read the card.", NoArguments, stuck)
    monkeypatch.setattr(roles, "CARD_TOOLS", (slow_card, *tools.CARD_TOOLS[1:]))
    async with AsyncExitStack() as exits:
        orchestrator = await _with_tools(make_orchestrator, exits, cancel_poll_seconds=0.02)
        moved = orchestrator.moved(to_lane=1)
        running = asyncio.create_task(orchestrator.push(moved))
        await asyncio.wait_for(started.wait(), 10)
        response = await orchestrator.api(f"/api/runs/{run_id_for(moved.id, 'prd')}/cancel")
        assert response.json()["status"] == "cancelling"
        assert (await asyncio.wait_for(running, 10)).status_code == 204
        assert orchestrator.events("agent.run.step") == []
        [cancelled] = orchestrator.events("agent.run.cancelled")
        assert cancelled.cost == CALL_COST  # the step's call was made, its effect never published
        assert [s.run_status for s in orchestrator.events("usage.run_settled")] == ["cancelled"]


async def test_a_cancel_flag_that_cannot_be_read_for_a_while_does_not_cancel_the_running_tools(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    unread = 0
    released = asyncio.Event()

    async def slow(_context: ToolContext, _arguments: NoArguments) -> ToolOutcome:
        await released.wait()
        return ToolOutcome("The card reads as before.")

    async def database_away(_executor: RunExecutor, _plan: Any) -> bool:
        nonlocal unread
        unread += 1
        if unread == 3:
            released.set()  # the tool finishes once the flag went unread a few times
        raise ConnectionResetError("the database closed the connection")

    monkeypatch.setattr(
        roles, "CARD_TOOLS", (Tool("read_card", "Read the card.", NoArguments, slow), *tools.CARD_TOOLS[1:])
    )
    async with AsyncExitStack() as exits:
        orchestrator = await _with_tools(make_orchestrator, exits, cancel_poll_seconds=0.01)
        monkeypatch.setattr(RunExecutor, "_cancel_requested", database_away)
        assert (await asyncio.wait_for(orchestrator.push(orchestrator.moved(to_lane=1)), 30)).status_code == 204
        assert unread >= 3
        assert orchestrator.events("agent.run.cancelled") == []
        [completed] = orchestrator.events("agent.run.completed")
        assert completed.steps >= 1


async def test_cancel_between_steps_stops_before_the_next_model_call(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await _with_tools(make_orchestrator, exits)
        held = orchestrator.model.hold(2)
        moved = orchestrator.moved(to_lane=1)
        running = asyncio.create_task(orchestrator.push(moved))
        await held.arrived.wait()
        response = await orchestrator.api(f"/api/runs/{run_id_for(moved.id, 'prd')}/cancel")
        assert response.json()["status"] == "cancelling"
        held.release.set()
        assert (await asyncio.wait_for(running, 10)).status_code == 204
        assert len(orchestrator.model.requests) == 2
        assert len(orchestrator.events("agent.run.step")) <= 2  # the step under way when cancel came, at most
        assert len(orchestrator.events("agent.run.cancelled")) == 1
        async with orchestrator.db.transaction() as session:
            run = (await session.scalars(select(Run))).one()
        assert run.status == "cancelled"


def _tool_context(orchestrator: Orchestrator, run_id: uuid.UUID, agent: str, documents: tuple[str, ...]) -> ToolContext:
    service = run_service_of(orchestrator.app.state.ctx)
    card = ContextCardOut(id=orchestrator.card, title="Checkout", description="", card_type="feature")
    return ToolContext(
        run_id=run_id,
        workspace_id=orchestrator.workspace,
        project_id=orchestrator.project,
        card_id=orchestrator.card,
        card=card,
        documents=documents,
        core=service.core,
        llm=service.executor.llm,
        image_model="gemini-2.5-flash-image",
        headers=call_headers(orchestrator.workspace, orchestrator.project, run_id, agent, orchestrator.card),
    )


async def test_a_tool_call_with_invalid_arguments_is_fed_back_as_an_error_the_model_can_act_on(
    orchestrator: Orchestrator,
) -> None:
    context = _tool_context(orchestrator, uuid.uuid4(), "prd", ("prd",))
    offered = roles.tools_of("prd")
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


async def test_a_disabled_agent_of_the_lane_publishes_that_it_was_skipped(orchestrator: Orchestrator) -> None:
    orchestrator.agent("prd", model="gpt-5", enabled=False)
    assert (await orchestrator.push(orchestrator.moved(to_lane=1))).status_code == 204
    [skipped] = orchestrator.events("agent.run.skipped")
    assert (skipped.agent, skipped.reason_code, skipped.card_id) == ("prd", "disabled", orchestrator.card)
    assert "The PRD agent is turned off for this project" in skipped.reason  # named as people know it
    assert orchestrator.events("agent.run.started") == []
    assert orchestrator.model.requests == []


async def test_a_run_by_hand_of_an_agent_turned_off_since_is_skipped_not_run(orchestrator: Orchestrator) -> None:
    orchestrator.agent("prd", model="gpt-5", enabled=False)
    asked = CardRunRequested(
        workspace_id=orchestrator.workspace, project_id=orchestrator.project, card_id=orchestrator.card,
        agent="prd", lane_number=1,
    )  # fmt: skip
    assert (await orchestrator.push(asked)).status_code == 204
    [skipped] = orchestrator.events("agent.run.skipped")
    assert (skipped.run_id, skipped.reason_code) == (run_id_for(asked.id, "prd"), "disabled")
    assert orchestrator.events("agent.run.started") == []
    assert orchestrator.model.requests == []


async def test_a_budget_spent_mid_run_fails_it_before_the_next_model_call(make_orchestrator: Any) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await _with_tools(make_orchestrator, exits)
        held = orchestrator.model.hold(2)
        running = asyncio.create_task(orchestrator.push(orchestrator.moved(to_lane=1)))
        await held.arrived.wait()
        async with orchestrator.db.transaction() as session:
            session.add(
                BudgetState(
                    scope_id=orchestrator.workspace,
                    workspace_id=orchestrator.workspace,
                    period=utc_now().strftime("%Y-%m"),
                    exceeded=True,
                    updated_at=utc_now(),
                )
            )
        held.release.set()
        assert (await asyncio.wait_for(running, 10)).status_code == 204
        [failed] = orchestrator.events("agent.run.failed")
        assert failed.error_code == "budget_exceeded"
        assert [s.step for s in orchestrator.events("agent.run.step")] == [1, 2]
        assert len(orchestrator.model.requests) == 2
        [settled] = orchestrator.events("usage.run_settled")
        assert (settled.run_status, settled.provider_calls, settled.cost) == ("failed", 2, CALL_COST * 2)


async def test_the_designer_generates_an_image_kept_under_the_runs_workspace(orchestrator: Orchestrator) -> None:
    def generated(call: Call) -> Answer:
        return Answer(200, {"created": 1, "data": [{"url": f"{MODEL_URL}/v1/images/files/3f2a.png"}]})

    orchestrator.router.on("POST", IMAGES, generated)
    run_id = uuid.uuid4()
    context = _tool_context(orchestrator, run_id, "designer", ("design_brief",))
    offered = roles.tools_of("designer")
    assert "generate_image" in [t.name for t in offered]
    assert "generate_image" not in [t.name for t in roles.tools_of("prd")]
    call = tools.ToolCall("c1", "generate_image", '{"prompt": "a one-page checkout"}')
    record, effect = await tools.perform(call, offered, context)
    assert record.ok, record.error
    assert effect is not None
    assert (effect.kind, effect.name, effect.prompt) == ("image.generated", "3f2a.png", "a one-page checkout")  # type: ignore[union-attr]
    # The router keeps the image, and records the call's usage, under the run's workspace, run and agent.
    [asked] = orchestrator.router.calls_to("POST", IMAGES)
    assert (asked.body["model"], asked.body["prompt"]) == ("gemini-2.5-flash-image", "a one-page checkout")
    headers = (asked.headers["x-aw-workspace-id"], asked.headers["x-aw-run-id"], asked.headers["x-aw-agent"])
    assert headers == (str(orchestrator.workspace), str(run_id), "designer")


async def _forget_deliveries(orchestrator: Orchestrator) -> None:
    """The inbox as a handler that died before recording its event leaves it: the effects committed, no row."""
    async with orchestrator.db.transaction() as session:
        await session.execute(delete(models.inbox))


async def test_a_redelivered_move_whose_skip_was_already_committed_is_a_no_op(orchestrator: Orchestrator) -> None:
    orchestrator.agent("prd", model="gpt-5", enabled=False)
    moved = orchestrator.moved(to_lane=1)
    assert (await orchestrator.push(moved)).status_code == 204
    await _forget_deliveries(orchestrator)
    assert (await orchestrator.push(moved)).status_code == 204
    [skipped] = orchestrator.events("agent.run.skipped")
    async with orchestrator.db.transaction() as session:
        staged = await session.scalar(
            select(func.count()).select_from(models.outbox).where(models.outbox.c.event_id == str(skipped.id))
        )
    assert staged == 1


async def test_a_redelivered_move_whose_run_had_finished_publishes_nothing_twice(orchestrator: Orchestrator) -> None:
    moved = orchestrator.moved(to_lane=1)
    assert (await orchestrator.push(moved)).status_code == 204
    published = [event.id for event in orchestrator.sink.events()]
    await _forget_deliveries(orchestrator)
    assert (await orchestrator.push(moved)).status_code == 204
    assert [event.id for event in orchestrator.sink.events()] == published
