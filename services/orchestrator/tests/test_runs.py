"""Moving a card runs the lane's agents: events, artifacts, charges, idempotency, quota, budget, crashes."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import pytest
from agentworks_events import UsageRunSettled, run_id_for, utc_now
from agentworks_orchestrator.models import Run
from agentworks_orchestrator.state import run_service_of
from openai.types.chat import ChatCompletionChunk
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from .conftest import ManualClock, Stack


async def test_a_card_moved_into_lane_1_runs_the_prd_agent_once(stack: Stack) -> None:
    moved = stack.moved(to_lane=1)
    assert (await stack.push(moved)).status_code == 204
    [started] = stack.events("agent.run.started")
    assert (started.agent, started.run_id, started.lane_number) == ("prd", run_id_for(moved.id, "prd"), 1)
    logs = stack.events("agent.run.log")
    seqs = [line.seq for event in logs for line in event.lines]
    assert seqs == list(range(1, len(seqs) + 1))
    assert any("[offline model" in line.text for event in logs for line in event.lines)
    [completed] = stack.events("agent.run.completed")
    assert completed.last_seq == seqs[-1]
    assert (completed.steps, completed.artifacts.documents) == (4, ())
    written = [e.name for step in stack.events("agent.run.step") for e in step.effects if e.kind == "document.write"]
    assert written == ["prd"]
    assert completed.artifacts.summary.startswith("Done:")
    [settled] = stack.events("usage.run_settled")
    assert (settled.run_id, settled.run_status, settled.cost, settled.price) == (
        started.run_id,
        "completed",
        Decimal(0),
        Decimal(0),
    )
    usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
    assert [(u.run_id, u.agent, u.requested_provider, u.provider) for u in usage] == [
        (started.run_id, "prd", "openai", "offline")
    ] * 4


async def test_a_run_triggered_in_a_gated_lane_completes_awaiting_approval(stack: Stack) -> None:
    await stack.core_call("PATCH", f"/api/lanes/{stack.ids['lanes'][1]}", {"requires_approval": True})
    assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
    assert (await stack.push(stack.moved(to_lane=2))).status_code == 204  # lane 2 has no gate
    gated, free = stack.events("agent.run.completed")
    assert (gated.agent, gated.requires_approval) == ("prd", True)
    assert (free.agent, free.requires_approval) == ("designer", False)


async def test_a_redelivered_card_moved_changes_nothing(stack: Stack) -> None:
    moved = stack.moved(to_lane=1)
    await stack.push(moved)
    before = len(stack.sink.published)
    assert (await stack.push(moved)).status_code == 204
    assert len(stack.sink.published) == before
    assert len([e for e in stack.router_sink.events() if e.type == "usage.recorded"]) == 4  # the first run's steps


async def test_moves_within_a_lane_and_lanes_without_agents_run_nothing(stack: Stack) -> None:
    within = stack.moved(to_lane=1).model_copy(update={"from_lane_id": stack.ids["lanes"][1], "from_lane_number": 1})
    assert (await stack.push(within)).status_code == 204
    assert (await stack.push(stack.moved(to_lane=4))).status_code == 204
    assert stack.sink.published == []


async def test_architect_creates_child_cards_and_lane_5_runs_both_developers(stack: Stack) -> None:
    await stack.push(stack.moved(to_lane=3))
    [completed] = stack.events("agent.run.completed")
    children = [e for step in stack.events("agent.run.step") for e in step.effects if e.kind == "card.create_child"]
    assert (completed.agent, len(children)) == ("architect", 2)
    await stack.push(stack.moved(to_lane=5))
    agents = sorted(e.agent for e in stack.events("agent.run.completed"))
    assert agents == ["architect", "dev_backend", "dev_frontend"]


async def _orchestrator_db(stack: Stack) -> Any:
    return stack.orchestrator.state.ctx.db


async def test_the_101st_run_in_an_hour_is_refused_with_no_provider_call(stack: Stack) -> None:
    db = await _orchestrator_db(stack)
    async with db.transaction() as session:
        for _ in range(100):
            session.add(
                Run(
                    id=uuid.uuid4(),
                    workspace_id=stack.ids["workspace"],
                    project_id=stack.ids["project"],
                    agent="prd",
                    provider="offline",
                    model="offline-small",
                    status="completed",
                    trigger_event_id=uuid.uuid4(),
                    created_at=utc_now(),
                )
            )
    assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
    [failed] = stack.events("agent.run.failed")
    assert (failed.refused, failed.error_code) == (True, "quota_exceeded")
    assert "100 agent runs" in failed.reason
    assert stack.events("agent.run.started") == []
    assert stack.router_sink.published == []


async def test_an_exceeded_budget_refuses_runs_until_raised(stack: Stack) -> None:
    ids = stack.ids
    budget = f"/api/workspaces/{ids['workspace']}/budgets/workspace"
    await stack.billing_call("PUT", budget, {"monthly_cap": "0.25"})
    charge = UsageRunSettled(
        workspace_id=ids["workspace"],
        project_id=ids["project"],
        run_id=uuid.uuid4(),
        agent="prd",
        run_status="completed",
        cost=Decimal("0.01"),
        markup=Decimal(5),
        increment=Decimal("0.25"),
        unrounded_amount=Decimal("0.05"),
        price=Decimal("0.25"),
    )
    assert (await stack.pull_into_billing(charge)).nacks == []
    for event in stack.billing_sink.events():  # billing's budget events, as Pub/Sub delivers them
        assert (await stack.push(event, "orchestrator-usage-events")).status_code == 204
    assert [e.type for e in stack.billing_sink.events()][-1] == "usage.budget_exceeded"

    await stack.push(stack.moved(to_lane=1))
    [failed] = stack.events("agent.run.failed")
    assert (failed.refused, failed.error_code) == (True, "budget_exceeded")
    assert "raise the cap" in failed.reason
    assert stack.router_sink.published == []  # no provider was called

    stack.billing_sink.published.clear()
    await stack.billing_call("PUT", budget, {"monthly_cap": "10"})
    [changed] = stack.billing_sink.events()
    assert (changed.type, changed.exceeded) == ("usage.budget_changed", False)
    await stack.push(changed, "orchestrator-usage-events")
    await stack.push(stack.moved(to_lane=1))
    assert len(stack.events("agent.run.completed")) == 1
    assert {e.type for e in stack.router_sink.events()} == {"usage.recorded"}


async def test_runs_are_priced_with_the_plan_billing_had_when_they_started(stack: Stack) -> None:
    workspace = stack.ids["workspace"]
    plan = {"markup": "8", "increment": "0.5"}
    await stack.billing_call("PUT", f"/internal/workspaces/{workspace}/plan", plan, caller="operator")
    await stack.push(stack.moved(to_lane=1))
    [settled] = stack.events("usage.run_settled")
    assert (settled.markup, settled.increment, settled.provider_calls) == (Decimal(8), Decimal("0.5"), 4)


async def test_a_crashed_executor_is_taken_over_after_its_lease_and_billed_once(make_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        clock = ManualClock()
        # A single-call run (as an image model's role answers); tool-using runs resume by step (test_agent_loop).
        stack: Stack = await make_stack(exits, clock=clock, token_delay=0.01, tool_roles=frozenset())
        moved = stack.moved(to_lane=1)
        service = run_service_of(stack.orchestrator.state.ctx)
        crashed = asyncio.create_task(service.on_card_event(moved))
        while not stack.events("agent.run.log"):  # noqa: ASYNC110 - events arrive through the sink
            await asyncio.sleep(0.01)
        crashed.cancel()  # the process died mid-run: no completion, no settlement, the event unacknowledged
        await asyncio.gather(crashed, return_exceptions=True)
        assert stack.events("agent.run.completed") == []
        early = await stack.push(moved)
        assert early.status_code == 503  # the dead executor's lease has not expired yet
        clock.advance(service.settings.lease_seconds + 1)
        assert (await stack.push(moved)).status_code == 204
        assert [e.attempt for e in stack.events("agent.run.started")] == [1, 2]
        [completed] = stack.events("agent.run.completed")
        assert completed.attempt == 2
        # The dead attempt's call was cut and recorded by the router; the one charge counts it and the next.
        usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
        assert sorted(u.outcome for u in usage) == ["cancelled", "success"]
        [settled] = stack.events("usage.run_settled")
        assert settled.provider_calls == len(usage) == 2
        assert settled.cost == sum((u.cost for u in usage), Decimal(0))
        seqs = [line.seq for event in stack.events("agent.run.log") for line in event.lines]
        assert seqs == list(range(1, len(seqs) + 1))
        db = await _orchestrator_db(stack)
        async with db.transaction() as session:
            run = (await session.scalars(select(Run))).one()
        assert (run.status, run.attempt) == ("completed", 2)


async def test_a_streamed_answer_is_read_without_a_model_object_per_chunk(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    construct = ChatCompletionChunk.construct

    def counted(cls: type[ChatCompletionChunk], *args: Any, **values: Any) -> ChatCompletionChunk:
        built.append(cls.__name__)
        return construct.__func__(cls, *args, **values)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(ChatCompletionChunk, "construct", classmethod(counted))
    assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
    [completed] = stack.events("agent.run.completed")
    assert completed.artifacts.summary.startswith("Done:")
    assert built == []


async def test_an_executor_that_fails_transiently_releases_its_lease_so_the_redelivery_starts_at_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = run_service_of(stack.orchestrator.state.ctx).executor
    complete = executor._completed
    failures = [OperationalError("UPDATE runs", {}, Exception("server closed the connection"))]

    async def fails_once(*args: Any) -> None:
        if failures:
            raise failures.pop()
        await complete(*args)

    monkeypatch.setattr(executor, "_completed", fails_once)
    moved = stack.moved(to_lane=1)
    assert (await stack.push(moved)).status_code == 503
    assert (await stack.push(moved)).status_code == 204  # not held for the 30 s lease
    assert [e.attempt for e in stack.events("agent.run.started")] == [1, 2]
    [completed] = stack.events("agent.run.completed")
    assert (completed.attempt, completed.steps) == (2, 4)
    # The first attempt checkpointed all four steps, its answer too: the second only ends the run, with no call.
    assert [s.step for s in stack.events("agent.run.step")] == [1, 2, 3, 4]
    usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
    [settled] = stack.events("usage.run_settled")
    assert settled.provider_calls == len(usage) == 4
    assert settled.cost == sum((u.cost for u in usage), Decimal(0))
