"""Core consumes agent-runs: the run projection, documents and child cards, idempotently and in any order."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from agentworks_core.models import inbox
from agentworks_events import (
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunSkipped,
    AgentRunStarted,
    CardApproved,
    CardCreated,
    CardRejected,
    CardRunRequested,
    ChildCardArtifact,
    DocumentArtifact,
    RunArtifacts,
    RunTokens,
    run_id_for,
)
from sqlalchemy import select

from .conftest import Core


async def test_completed_run_projects_documents_child_cards_and_totals(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    artifacts = RunArtifacts(
        summary="Architecture drafted",
        documents=(DocumentArtifact(kind="infra_design", title="Infra design", content="# Infra"),),
        child_cards=(ChildCardArtifact(title="Build the API"), ChildCardArtifact(title="Build the UI")),
    )
    run_id = await core.completed_run(a["workspace"], a["project"], a["card"], artifacts=artifacts, agent="architect")
    runs = await core.ok("GET", f"/api/cards/{a['card']}/runs", world.member)
    mine = next(r for r in runs["runs"] if r["id"] == run_id)
    assert (mine["status"], mine["agent"], mine["summary"]) == ("completed", "architect", "Architecture drafted")
    assert Decimal(runs["total_price"]) == Decimal("0.50")
    doc = await core.ok("GET", f"/api/projects/{a['project']}/documents/infra_design", world.member)
    assert (doc["content"], doc["source_run_id"]) == ("# Infra", run_id)
    card = await core.ok("GET", f"/api/cards/{a['card']}", world.member)
    assert (doc["agent"], doc["card_id"], doc["card_title"]) == ("architect", a["card"], card["title"])
    history = await core.ok("GET", f"/api/projects/{a['project']}/documents/infra_design/versions", world.member)
    assert [(v["card_id"], v["card_title"]) for v in history["items"]] == [(a["card"], card["title"])]
    children = await core.ok("GET", f"/api/cards/{a['card']}/children", world.member)
    assert sorted(c["title"] for c in children) == ["Build the API", "Build the UI"]
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    assert {c["title"] for c in board["lanes"][4]["cards"]} == {"Build the API", "Build the UI"}
    badge = next(c for c in board["lanes"][0]["cards"] if c["id"] == a["card"])["runs"]
    assert (badge["runs"], badge["last_agent"], badge["last_status"]) == (2, "architect", "completed")
    assert Decimal(badge["total_price"]) == Decimal("0.50")
    created = [e for e in core.sink.events() if isinstance(e, CardCreated)]
    assert {e.card.title for e in created} == {"Build the API", "Build the UI"}
    assert all(str(e.created_by_run_id) == run_id for e in created)
    viewer = await core.ok("GET", f"/api/cards/{a['card']}/runs", world.viewer)
    assert viewer["total_cost"] is None
    assert all(r["cost"] is None for r in viewer["runs"])


async def test_redelivery_and_out_of_order_events_change_nothing(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.UUID(a["run"])
    started = AgentRunStarted(
        workspace_id=uuid.UUID(a["workspace"]),
        project_id=uuid.UUID(a["project"]),
        run_id=run_id,
        card_id=uuid.UUID(a["card"]),
        agent="prd",
        provider="offline",
        model="offline-small",
        trigger_event_id=uuid.uuid4(),
    )
    failed = AgentRunFailed(
        workspace_id=started.workspace_id,
        project_id=started.project_id,
        run_id=run_id,
        card_id=started.card_id,
        agent="prd",
        reason="late",
        error_code="x",
    )
    for event in (started, failed, started):
        assert (await core.push(event)).status_code == 204
    runs = await core.ok("GET", f"/api/cards/{a['card']}/runs", world.member)
    [run] = runs["runs"]
    assert run["status"] == "completed"
    assert core.sink.published == []


async def test_a_run_skipped_at_its_first_model_call_shows_why_and_can_be_run_again(core: Core) -> None:
    """The orchestrator started the run, then the router refused its first call: skipped, with the reason."""
    world = await core.world()
    a = world.ids["a"]
    ids = {"workspace_id": uuid.UUID(a["workspace"]), "project_id": uuid.UUID(a["project"])}
    run_id, card_id = uuid.uuid4(), uuid.UUID(a["card"])
    started = AgentRunStarted(
        **ids, run_id=run_id, card_id=card_id, agent="prd", provider="openai", model="gpt-5", trigger_event_id=run_id
    )
    why = "openai keeps failing for gpt-5, so the provider router stopped calling it for a while."
    skipped = AgentRunSkipped(
        **ids, run_id=run_id, card_id=card_id, agent="prd", reason_code="circuit_open", reason=why, last_seq=1
    )
    for event in (started, skipped, started):
        assert (await core.push(event)).status_code == 204
    runs = (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.member))["runs"]
    shown = next(r for r in runs if r["id"] == str(run_id))
    assert (shown["status"], shown["error_code"], shown["reason"]) == ("skipped", "circuit_open", why)
    assert (shown["provider"], shown["model"], Decimal(shown["price"])) == ("openai", "gpt-5", Decimal(0))
    rerun = await core.ok("POST", f"/api/runs/{run_id}/rerun", world.member)
    assert (rerun["agent"], str(core.sink.events()[-1].rerun_of)) == ("prd", str(run_id))


@pytest.mark.parametrize("reason_code", ["quota_exceeded", "budget_exceeded", "provider_not_configured"])
async def test_each_reason_an_agent_did_not_run_is_on_the_card(core: Core, reason_code: str) -> None:
    world = await core.world()
    a = world.ids["a"]
    skipped = AgentRunSkipped(
        workspace_id=uuid.UUID(a["workspace"]), project_id=uuid.UUID(a["project"]), run_id=uuid.uuid4(),
        card_id=uuid.UUID(a["card"]), agent="qa", reason_code=reason_code, reason=f"Not run: {reason_code}.",
    )  # fmt: skip
    assert (await core.push(skipped)).status_code == 204
    runs = (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.member))["runs"]
    shown = next(r for r in runs if r["id"] == str(skipped.run_id))
    assert (shown["status"], shown["error_code"], shown["reason"]) == ("skipped", reason_code, skipped.reason)


async def test_a_refusal_published_before_refusals_were_skips_still_shows_as_refused(core: Core) -> None:
    """An ``agent.run.failed`` with ``refused`` still in flight from an earlier orchestrator keeps its meaning."""
    world = await core.world()
    a = world.ids["a"]
    refused = AgentRunFailed(
        workspace_id=uuid.UUID(a["workspace"]), project_id=uuid.UUID(a["project"]), run_id=uuid.uuid4(),
        card_id=uuid.UUID(a["card"]), agent="qa", reason="The hourly quota is used up.", error_code="quota_exceeded",
        refused=True,
    )  # fmt: skip
    assert (await core.push(refused)).status_code == 204
    runs = (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.member))["runs"]
    shown = next(r for r in runs if r["id"] == str(refused.run_id))
    assert (shown["status"], shown["error_code"], shown["reason"]) == ("refused", "quota_exceeded", refused.reason)


async def test_requesting_a_run_publishes_run_requested_with_the_derived_run_id(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    requested = await core.ok(
        "POST", f"/api/cards/{a['card']}/agents/qa/run", world.member, {"instructions": "edge cases please"}
    )
    [event] = core.sink.events()
    assert isinstance(event, CardRunRequested)
    assert (event.agent, event.instructions, event.lane_number) == ("qa", "edge cases please", 0)
    assert requested["run_id"] == str(run_id_for(event.id, "qa"))
    rerun = await core.ok("POST", f"/api/runs/{a['run']}/rerun", world.member)
    second = core.sink.events()[-1]
    assert isinstance(second, CardRunRequested)
    assert str(second.rerun_of) == a["run"]
    assert rerun["agent"] == "prd"
    unknown = await core.call("POST", f"/api/cards/{a['card']}/agents/nobody/run", world.member)
    assert unknown.status_code == 404


async def test_an_agent_turned_off_is_not_run_by_hand_nor_redone_after_a_rejection(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    await core.ok("PATCH", f"/api/lanes/{a['lanes'][0]}", world.member, {"requires_approval": True})
    held = await core.completed_run(a["workspace"], a["project"], a["card"], requires_approval=True)
    off = {"provider": "offline", "model": "offline-small", "enabled": False}
    await core.ok("PUT", f"/api/projects/{a['project']}/agents/prd", world.member, off)
    before = len(core.sink.events())

    for method, path in (
        ("POST", f"/api/cards/{a['card']}/agents/prd/run"),
        ("POST", f"/api/runs/{a['run']}/rerun"),
    ):
        refused = await core.call(method, path, world.member)
        assert refused.status_code == 409, path
        assert refused.json()["error"]["code"] == "agent_disabled"
        assert "PRD agent is turned off" in refused.json()["error"]["message"]
    rejected = await core.ok("POST", f"/api/runs/{held}/reject", world.member, {"comment": "redo"})
    assert (rejected["approval"], rejected["rerun"]) == ("rejected", None)
    assert not any(isinstance(e, CardRunRequested) for e in core.sink.events()[before:])

    await core.ok("PUT", f"/api/projects/{a['project']}/agents/prd", world.member, {**off, "enabled": True})
    assert (await core.call("POST", f"/api/runs/{a['run']}/rerun", world.member)).status_code == 202


async def test_runs_of_a_deleted_project_are_acknowledged_not_retried(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    await core.ok("DELETE", f"/api/projects/{a['project']}", world.owner)
    started = AgentRunStarted(
        workspace_id=uuid.UUID(a["workspace"]),
        project_id=uuid.UUID(a["project"]),
        run_id=uuid.uuid4(),
        card_id=uuid.UUID(a["card"]),
        agent="prd",
        provider="offline",
        model="offline-small",
        trigger_event_id=uuid.uuid4(),
    )
    assert (await core.push(started)).status_code == 204


async def test_a_gated_lane_holds_runs_for_approval_and_a_rejection_redoes_the_work(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    lane = await core.ok("PATCH", f"/api/lanes/{a['lanes'][1]}", world.member, {"requires_approval": True})
    assert lane["requires_approval"] is True
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert [x["requires_approval"] for x in board["lanes"][:3]] == [False, True, False]

    held = await core.completed_run(a["workspace"], a["project"], a["card"], requires_approval=True)
    free = await core.completed_run(a["workspace"], a["project"], a["card"])
    runs = {r["id"]: r for r in (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.viewer))["runs"]}
    assert (runs[held]["approval"], runs[free]["approval"]) == ("pending", None)
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    badge = next(c for c in board["lanes"][0]["cards"] if c["id"] == a["card"])["runs"]
    assert badge["awaiting_approval"] == 1

    refused = await core.call("POST", f"/api/runs/{held}/approve", world.viewer, {"comment": "ok"})
    assert refused.status_code == 403
    core.sink.published.clear()
    rejected = await core.ok("POST", f"/api/runs/{held}/reject", world.member, {"comment": "Cover refunds too"})
    assert rejected["approval"] == "rejected"
    assert rejected["rerun"]["agent"] == "prd"
    events = core.sink.events()
    (decision,) = [e for e in events if isinstance(e, CardRejected)]
    assert (str(decision.run_id), decision.comment, str(decision.card_id)) == (held, "Cover refunds too", a["card"])
    (redo,) = [e for e in events if isinstance(e, CardRunRequested)]
    assert (redo.agent, str(redo.rerun_of), redo.instructions) == ("prd", held, "Cover refunds too")

    again = await core.call("POST", f"/api/runs/{held}/approve", world.owner, {})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "no_approval_pending")
    not_gated = await core.call("POST", f"/api/runs/{free}/approve", world.owner, {})
    assert not_gated.status_code == 409

    second = await core.completed_run(a["workspace"], a["project"], a["card"], requires_approval=True)
    approved = await core.ok("POST", f"/api/runs/{second}/approve", world.member)
    assert (approved["approval"], approved["rerun"]) == ("approved", None)
    assert any(isinstance(e, CardApproved) and str(e.run_id) == second for e in core.sink.events())
    runs = {r["id"]: r for r in (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.viewer))["runs"]}
    assert (runs[held]["approval_comment"], runs[second]["approval"]) == ("Cover refunds too", "approved")


async def _rejections(core: Core) -> dict[str, str]:
    async with core.app.state.ctx.db.transaction() as session:
        rows = await session.execute(select(inbox.c.event_id, inbox.c.detail).where(inbox.c.outcome == "rejected"))
    return dict(rows.all())  # type: ignore[arg-type]


@pytest.mark.parametrize("foreign", ["card", "project", "run", "card of another project"])
async def test_a_run_event_naming_another_workspaces_ids_changes_nothing_and_is_recorded(
    core: Core, foreign: str
) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    b_run = uuid.uuid4()
    b_started = AgentRunStarted(
        workspace_id=uuid.UUID(b["workspace"]), project_id=uuid.UUID(b["project"]), run_id=b_run,
        card_id=uuid.UUID(b["card"]), agent="prd", provider="offline", model="offline-small",
        trigger_event_id=uuid.uuid4(),
    )  # fmt: skip
    assert (await core.push(b_started)).status_code == 204
    other_project = await core.ok("POST", f"/api/workspaces/{a['workspace']}/projects", world.owner, {"name": "Blog"})
    other_card = await core.ok("POST", f"/api/projects/{other_project['id']}/cards", world.owner, {"title": "Post"})
    project, card, run = a["project"], a["card"], uuid.uuid4()
    if foreign == "card":
        card = b["card"]
    elif foreign == "project":
        project = b["project"]
    elif foreign == "run":
        run = b_run
    else:
        card = other_card["id"]
    forged = AgentRunCompleted(
        workspace_id=uuid.UUID(a["workspace"]), project_id=uuid.UUID(project), run_id=run,
        card_id=uuid.UUID(card), agent="architect",
        provider="offline", model="offline-small", tokens=RunTokens(), cost=Decimal("1"), price=Decimal("5"),
        duration_ms=1, last_seq=0,
        artifacts=RunArtifacts(
            summary="forged",
            documents=(DocumentArtifact(kind="prd", title="PRD", content="# forged"),),
            child_cards=(ChildCardArtifact(title="Planted"),),
        ),
    )  # fmt: skip

    assert (await core.push(forged)).status_code == 204

    assert str(forged.id) in await _rejections(core)
    for tenant, owner in (("a", world.owner), ("b", world.stranger)):
        for shown in (world.ids[tenant]["card"], other_card["id"]) if tenant == "a" else (b["card"],):
            assert await core.ok("GET", f"/api/cards/{shown}/children", owner) == []
            assert all(
                r["summary"] != "forged" for r in (await core.ok("GET", f"/api/cards/{shown}/runs", owner))["runs"]
            )
        prd = await core.ok("GET", f"/api/projects/{world.ids[tenant]['project']}/documents/prd", owner)
        assert prd["content"] == "# PRD v1"
    b_runs = (await core.ok("GET", f"/api/cards/{b['card']}/runs", world.stranger))["runs"]
    assert next(r for r in b_runs if r["id"] == str(b_run))["status"] == "running"
    assert not [e for e in core.sink.events() if isinstance(e, CardCreated) and e.created_by_run_id == run]
