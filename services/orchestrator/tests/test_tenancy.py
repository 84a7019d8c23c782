"""The orchestrator acts only on ids of the workspace an event names: a forged event runs nothing and bills nobody.
(With core's own run context answering, in tests/test_run_tenancy.py.)"""

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

from .conftest import ORCHESTRATOR_URL, PUSHER, Orchestrator


async def _recorded(orchestrator: Orchestrator) -> tuple[list[Any], dict[str, tuple[str, str | None]]]:
    async with orchestrator.db.transaction() as session:
        runs = list((await session.scalars(select(Run))).all())
        rows = (await session.execute(select(inbox.c.event_id, inbox.c.outcome, inbox.c.detail))).all()
    return runs, {event_id: (outcome, detail) for event_id, outcome, detail in rows}


@pytest.mark.parametrize("names", ["the other workspace's project and card", "its own project, the other's card"])
async def test_a_run_requested_for_another_workspaces_card_runs_nothing_and_bills_nobody(
    orchestrator: Orchestrator, names: str
) -> None:
    other = orchestrator.directory.tenancy(uuid.uuid4())
    project = other.project if names.startswith("the other") else orchestrator.project
    forged = CardRunRequested(
        workspace_id=orchestrator.workspace, project_id=project, card_id=other.card, agent="prd", lane_number=1
    )
    assert (await orchestrator.push(forged)).status_code == 204
    runs, outcomes = await _recorded(orchestrator)
    assert runs == []
    assert outcomes[str(forged.id)][0] == "rejected"
    assert orchestrator.sink.published == []  # no run event, no settlement
    assert orchestrator.model.requests == []  # no provider call, so no usage to bill


async def test_a_budget_event_cannot_close_another_workspaces_project(orchestrator: Orchestrator) -> None:
    other = orchestrator.directory.tenancy(uuid.uuid4())
    forged = UsageBudgetExceeded(
        workspace_id=orchestrator.workspace,
        project_id=orchestrator.project,
        scope="project",
        budget_project_id=other.project,
        period=utc_now().strftime("%Y-%m"),
        cap=Decimal("0.25"),
        spent=Decimal("1"),
    )
    assert (await orchestrator.push(forged, "orchestrator-usage-events")).status_code == 204
    _, outcomes = await _recorded(orchestrator)
    assert outcomes[str(forged.id)][0] == "rejected"
    assert "another workspace" in (outcomes[str(forged.id)][1] or "")

    own = CardRunRequested(
        workspace_id=other.workspace, project_id=other.project, card_id=other.card, agent="prd", lane_number=1
    )
    assert (await orchestrator.push(own)).status_code == 204
    [completed] = orchestrator.events("agent.run.completed")  # the other workspace's project still runs agents
    assert completed.card_id == other.card


async def test_a_settlement_labelled_as_a_budget_signal_is_rejected_and_recorded_not_dropped(
    orchestrator: Orchestrator,
) -> None:
    # The subscription filters route on the label: billing never sees this message, the orchestrator gets it.
    settlement = UsageRunSettled(
        workspace_id=orchestrator.workspace, project_id=orchestrator.project, run_id=uuid.uuid4(), agent="prd",
        run_status="completed", cost=Decimal("0.01"), markup=Decimal(5), increment=Decimal("0.25"),
        unrounded_amount=Decimal("0.05"), price=Decimal("0.25"),
    )  # fmt: skip
    body = push_envelope(settlement, "orchestrator-usage-events")
    body["message"]["attributes"]["type"] = "usage.budget_warning"
    token = LocalTokenSigner(orchestrator.key, PUSHER).sign(ORCHESTRATOR_URL)
    async with orchestrator.client() as client:
        response = await client.post(
            "/_events/orchestrator-usage-events", json=body, headers={"authorization": f"Bearer {token}"}
        )
    assert response.status_code == 204
    _, outcomes = await _recorded(orchestrator)
    outcome, detail = outcomes[str(settlement.id)]
    assert outcome == "rejected"
    assert "usage.budget_warning" in (detail or "")
