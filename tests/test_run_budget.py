"""A spent budget stops agent runs across the fleet: billing counts the orchestrator's charges, says the budget is
exceeded, and the orchestrator skips runs, saying why, until an owner raises the cap."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from agentworks_events import UsageRunSettled

from .conftest import RunStack

# The services' storage is proven on both backends by their own suites; this is about the messages between them.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


async def test_an_exceeded_budget_refuses_runs_until_raised(run_stack: RunStack) -> None:
    stack, ids = run_stack, run_stack.ids
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
    [skipped] = stack.events("agent.run.skipped")
    assert skipped.reason_code == "budget_exceeded"
    assert "raise the cap" in skipped.reason
    assert stack.router_sink.published == []  # no provider was called

    stack.billing_sink.published.clear()
    await stack.billing_call("PUT", budget, {"monthly_cap": "10"})
    [changed] = stack.billing_sink.events()
    assert (changed.type, changed.exceeded) == ("usage.budget_changed", False)
    await stack.push(changed, "orchestrator-usage-events")
    await stack.push(stack.moved(to_lane=1))
    assert len(stack.events("agent.run.completed")) == 1
    assert {e.type for e in stack.router_sink.events()} == {"usage.recorded"}
