"""A run requested for another workspace's card, as core resolves the project and card: nothing runs, nobody is
billed (the orchestrator's side of it, with core stood in, is in its own tests)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from agentworks_events import CardRunRequested
from agentworks_orchestrator.models import Run, inbox
from sqlalchemy import select

from .conftest import RunStack

# The services' storage is proven on both backends by their own suites; this is about the messages between them.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


async def _other_workspace(stack: RunStack) -> dict[str, uuid.UUID]:
    workspace = await stack.core_call("POST", "/api/workspaces", {"name": "Other"})
    project = await stack.core_call("POST", f"/api/workspaces/{workspace['id']}/projects", {"name": "Rival"})
    card = await stack.core_call("POST", f"/api/projects/{project['id']}/cards", {"title": "Secret plan"})
    return {"workspace": uuid.UUID(workspace["id"]), "project": uuid.UUID(project["id"]), "card": uuid.UUID(card["id"])}


async def _recorded(stack: RunStack) -> tuple[list[Any], dict[str, str]]:
    async with stack.orchestrator.state.ctx.db.transaction() as session:
        runs = list((await session.scalars(select(Run))).all())
        rows = (await session.execute(select(inbox.c.event_id, inbox.c.outcome))).all()
    return runs, {str(event_id): str(outcome) for event_id, outcome in rows}


@pytest.mark.parametrize("names", ["the other workspace's project and card", "its own project, the other's card"])
async def test_a_run_requested_for_another_workspaces_card_runs_nothing_and_bills_nobody(
    run_stack: RunStack, names: str
) -> None:
    ids, other = run_stack.ids, await _other_workspace(run_stack)
    project = other["project"] if names.startswith("the other") else ids["project"]
    forged = CardRunRequested(
        workspace_id=ids["workspace"], project_id=project, card_id=other["card"], agent="prd", lane_number=1
    )
    assert (await run_stack.push(forged)).status_code == 204
    runs, outcomes = await _recorded(run_stack)
    assert runs == []
    assert outcomes[str(forged.id)] == "rejected"
    assert run_stack.sink.published == []  # no run event, no settlement
    assert run_stack.router_sink.published == []  # no provider call, so no usage to bill
