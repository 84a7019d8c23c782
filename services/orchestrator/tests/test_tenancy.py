"""The orchestrator acts only on ids of the workspace an event names: a forged event runs nothing and bills nobody."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from agentworks_events import CardRunRequested, UsageBudgetExceeded, UsageRunSettled, utc_now
from agentworks_orchestrator.models import Run, inbox
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_pubsub.testing import push_envelope
from sqlalchemy import select

from .conftest import ORCHESTRATOR_URL, PUSHER, Stack


async def _other_workspace(stack: Stack) -> dict[str, uuid.UUID]:
    workspace = await stack.core_call("POST", "/api/workspaces", {"name": "Other"})
    project = await stack.core_call("POST", f"/api/workspaces/{workspace['id']}/projects", {"name": "Rival"})
    card = await stack.core_call("POST", f"/api/projects/{project['id']}/cards", {"title": "Secret plan"})
    return {"workspace": uuid.UUID(workspace["id"]), "project": uuid.UUID(project["id"]), "card": uuid.UUID(card["id"])}


async def _recorded(stack: Stack) -> tuple[list[Any], dict[str, tuple[str, str | None]]]:
    async with stack.orchestrator.state.ctx.db.transaction() as session:
        runs = list((await session.scalars(select(Run))).all())
        rows = (await session.execute(select(inbox.c.event_id, inbox.c.outcome, inbox.c.detail))).all()
    return runs, {event_id: (outcome, detail) for event_id, outcome, detail in rows}


@pytest.mark.parametrize("names", ["the other workspace's project and card", "its own project, the other's card"])
async def test_a_run_requested_for_another_workspaces_card_runs_nothing_and_bills_nobody(
    stack: Stack, names: str
) -> None:
    ids, other = stack.ids, await _other_workspace(stack)
    project = other["project"] if names.startswith("the other") else ids["project"]
    forged = CardRunRequested(
        workspace_id=ids["workspace"], project_id=project, card_id=other["card"], agent="prd", lane_number=1
    )
    assert (await stack.push(forged)).status_code == 204
    runs, outcomes = await _recorded(stack)
    assert runs == []
    assert outcomes[str(forged.id)][0] == "rejected"
    assert stack.sink.published == []  # no run event, no settlement
    assert stack.router_sink.published == []  # no provider call, so no usage to bill


async def test_a_budget_event_cannot_close_another_workspaces_project(stack: Stack) -> None:
    ids, other = stack.ids, await _other_workspace(stack)
    forged = UsageBudgetExceeded(
        workspace_id=ids["workspace"],
        project_id=ids["project"],
        scope="project",
        budget_project_id=other["project"],
        period=utc_now().strftime("%Y-%m"),
        cap=Decimal("0.25"),
        spent=Decimal("1"),
    )
    assert (await stack.push(forged, "orchestrator-usage-events")).status_code == 204
    _, outcomes = await _recorded(stack)
    assert outcomes[str(forged.id)][0] == "rejected"
    assert "another workspace" in (outcomes[str(forged.id)][1] or "")

    own = CardRunRequested(
        workspace_id=other["workspace"], project_id=other["project"], card_id=other["card"], agent="prd", lane_number=1
    )
    assert (await stack.push(own)).status_code == 204
    [completed] = stack.events("agent.run.completed")  # the other workspace's project still runs agents
    assert completed.card_id == other["card"]


async def test_a_settlement_labelled_as_a_budget_signal_is_rejected_and_recorded_not_dropped(stack: Stack) -> None:
    # The subscription filters route on the label: billing never sees this message, the orchestrator gets it.
    ids = stack.ids
    settlement = UsageRunSettled(
        workspace_id=ids["workspace"], project_id=ids["project"], run_id=uuid.uuid4(), agent="prd",
        run_status="completed", cost=Decimal("0.01"), markup=Decimal(5), increment=Decimal("0.25"),
        unrounded_amount=Decimal("0.05"), price=Decimal("0.25"),
    )  # fmt: skip
    body = push_envelope(settlement, "orchestrator-usage-events")
    body["message"]["attributes"]["type"] = "usage.budget_warning"
    token = LocalTokenSigner(stack.key, PUSHER).sign(ORCHESTRATOR_URL)
    async with stack.client(stack.orchestrator, ORCHESTRATOR_URL) as client:
        response = await client.post(
            "/_events/orchestrator-usage-events", json=body, headers={"authorization": f"Bearer {token}"}
        )
    assert response.status_code == 204
    _, outcomes = await _recorded(stack)
    outcome, detail = outcomes[str(settlement.id)]
    assert outcome == "rejected"
    assert "usage.budget_warning" in (detail or "")
