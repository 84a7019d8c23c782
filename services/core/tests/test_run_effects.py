"""Core applies the effects of tool-using runs' steps once each, to the run's card, within the event's workspace."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from agentworks_core.models import AppliedEffect, inbox
from agentworks_core.runs.effects import APPLY
from agentworks_events import (
    AgentRunSkipped,
    AgentRunStep,
    CardCreated,
    CardMoved,
    CardUpdated,
    CardUpdateEffect,
    ChecklistItem,
    ChildCardEffect,
    CommentEffect,
    DocumentWriteEffect,
    ImageEffect,
    MoveRequestEffect,
    RunEffect,
    RunTokens,
    child_card_id_for,
    step_id_for,
)
from agentworks_platform.db import set_tenant
from agentworks_platform.peer_stub import Answer, Call
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from pydantic import TypeAdapter
from sqlalchemy import func, select

from .conftest import CORE_URL, Core, World


def _step(ids: dict[str, Any], run_id: uuid.UUID, step: int, *effects: Any, **fields: Any) -> AgentRunStep:
    return AgentRunStep(
        id=step_id_for(run_id, step),
        workspace_id=uuid.UUID(ids["workspace"]),
        project_id=uuid.UUID(ids["project"]),
        run_id=run_id,
        card_id=uuid.UUID(fields.pop("card", ids["card"])),
        agent=fields.pop("agent", "architect"),
        step=step,
        effects=effects,
        tokens=RunTokens(input_tokens=100 * step, output_tokens=10 * step),
        cost=Decimal("0.001") * step,
        **fields,
    )


async def _deliver(core: Core, event: Any) -> None:
    response = await core.push(event)
    assert response.status_code == 204, response.text


async def _outcomes(core: Core, event_id: uuid.UUID) -> list[str]:
    async with core.app.state.ctx.db.transaction() as session:
        rows = await session.scalars(select(inbox.c.outcome).where(inbox.c.event_id == str(event_id)))
        return list(rows.all())


async def _claims(core: Core, run_id: uuid.UUID, workspace: str) -> dict[str, tuple[str, str]]:
    async with core.app.state.ctx.db.transaction() as session:
        await set_tenant(session, workspace_id=uuid.UUID(workspace))
        rows = await session.scalars(select(AppliedEffect).where(AppliedEffect.run_id == run_id))
        return {row.call_id: (row.outcome, row.detail) for row in rows.all()}


def _every_effect(card_id: str) -> tuple[Any, ...]:
    return (
        DocumentWriteEffect(call_id="doc", name="prd", title="Checkout PRD", content="# Checkout"),
        ChildCardEffect(
            call_id="child",
            title="Build the payment API",
            description="Charge the card.",
            acceptance_criteria=("A paid order answers 201", "A declined card answers 402"),
        ),
        CardUpdateEffect(
            call_id="update",
            description="Checkout, specified.",
            checklist=(ChecklistItem(text="PRD written", done=True), ChecklistItem(text="API designed")),
        ),
        CommentEffect(call_id="comment", card_id=uuid.UUID(card_id), body="The PRD is ready."),
        ImageEffect(call_id="image", name="checkout-mockup.png", prompt="A checkout page"),
        MoveRequestEffect(call_id="move", reason="Specified."),
    )


def test_every_kind_of_effect_has_its_application() -> None:
    kinds = TypeAdapter(RunEffect).json_schema()["discriminator"]["mapping"]
    assert set(APPLY) == set(kinds)


async def test_a_step_applies_each_effect_to_the_runs_card(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.uuid4()
    await _deliver(core, _step(a, run_id, 1, *_every_effect(a["card"])))

    documents = await core.ok("GET", f"/api/cards/{a['card']}/documents", world.viewer)
    assert [(d["name"], d["version"], d["agent"], d["run_id"], d["card_id"]) for d in documents] == [
        ("prd", 1, "architect", str(run_id), a["card"])
    ]
    prd = await core.ok("GET", f"/api/cards/{a['card']}/documents/prd", world.viewer)
    assert (prd["title"], prd["content"], prd["author_id"]) == ("Checkout PRD", "# Checkout", None)

    [child] = await core.ok("GET", f"/api/cards/{a['card']}/children", world.viewer)
    assert child["id"] == str(child_card_id_for(run_id, 1, "child"))
    assert (child["title"], child["description"], child["parent_id"]) == (
        "Build the payment API",
        "Charge the card.",
        a["card"],
    )
    assert child["acceptance_criteria"] == ["A paid order answers 201", "A declined card answers 402"]
    assert child["lane_id"] == a["lanes"][4]  # Ready: where a team picks work up, and no agent starts

    card = await core.ok("GET", f"/api/cards/{a['card']}", world.viewer)
    assert card["description"] == "Checkout, specified."
    assert card["checklist"] == [{"text": "PRD written", "done": True}, {"text": "API designed", "done": False}]
    assert card["lane_id"] == a["lanes"][1]
    [comment] = await core.ok("GET", f"/api/cards/{a['card']}/comments", world.viewer)
    assert (comment["body"], comment["agent"], comment["run_id"], comment["author_id"]) == (
        "The PRD is ready.", "architect", str(run_id), None,
    )  # fmt: skip
    [image] = await core.ok("GET", f"/api/cards/{a['card']}/images", world.viewer)
    assert (image["name"], image["prompt"], image["content_type"]) == (
        "checkout-mockup.png",
        "A checkout page",
        "image/png",
    )

    events = core.sink.events()
    assert [type(e) for e in events] == [CardCreated, CardUpdated, CardMoved]
    created, updated, moved = events
    assert isinstance(created, CardCreated)
    assert created.created_by_run_id == run_id
    assert isinstance(updated, CardUpdated)
    assert set(updated.changed_fields) == {"description", "checklist"}
    assert isinstance(moved, CardMoved)
    assert (moved.to_lane_number, moved.actor_id) == (1, None)
    runs = (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.viewer))["runs"]
    mine = next(r for r in runs if r["id"] == str(run_id))
    assert (mine["status"], mine["steps"], mine["input_tokens"]) == ("running", 1, 100)
    assert set((await _claims(core, run_id, a["workspace"])).values()) == {("applied", ""), ("applied", "Specified.")}


async def test_a_redelivered_or_replayed_step_changes_nothing_twice(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.uuid4()
    step = _step(a, run_id, 1, *_every_effect(a["card"]))
    await _deliver(core, step)
    await _deliver(core, step)
    replayed = step.model_copy(update={"id": uuid.uuid4()})  # re-published under another id after a takeover
    await _deliver(core, replayed)

    assert len(await core.ok("GET", f"/api/cards/{a['card']}/children", world.viewer)) == 1
    assert len(await core.ok("GET", f"/api/cards/{a['card']}/comments", world.viewer)) == 1
    assert len(await core.ok("GET", f"/api/cards/{a['card']}/images", world.viewer)) == 1
    [document] = await core.ok("GET", f"/api/cards/{a['card']}/documents", world.viewer)
    assert document["version"] == 1
    card = await core.ok("GET", f"/api/cards/{a['card']}", world.viewer)
    assert card["lane_id"] == a["lanes"][1]  # moved on once, not twice
    assert [type(e) for e in core.sink.events()] == [CardCreated, CardUpdated, CardMoved]
    assert await _outcomes(core, replayed.id) == ["processed"]


async def test_each_card_has_its_own_lineage_of_each_document(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    other = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Refunds"})
    first, second = uuid.uuid4(), uuid.uuid4()
    write = DocumentWriteEffect(call_id="c1", name="prd", title="Checkout PRD", content="# Checkout v1")
    await _deliver(core, _step(a, first, 1, write))
    rewrite = write.model_copy(update={"content": "# Checkout v2"})
    await _deliver(core, _step(a, first, 2, rewrite))
    refunds = write.model_copy(update={"title": "Refunds PRD", "content": "# Refunds"})
    await _deliver(core, _step(a, second, 1, refunds, card=other["id"], agent="prd"))

    checkout = await core.ok("GET", f"/api/cards/{a['card']}/documents/prd", world.viewer)
    assert (checkout["version"], checkout["content"], checkout["run_id"]) == (2, "# Checkout v2", str(first))
    refund = await core.ok("GET", f"/api/cards/{other['id']}/documents/prd", world.viewer)
    assert (refund["version"], refund["content"], refund["agent"], refund["card_id"]) == (
        1, "# Refunds", "prd", other["id"],
    )  # fmt: skip
    project_prd = await core.ok("GET", f"/api/projects/{a['project']}/documents/prd", world.viewer)
    assert (project_prd["version"], project_prd["content"]) == (1, "# PRD v1")
    listed = await core.ok("GET", f"/api/projects/{a['project']}/documents", world.viewer)
    assert {(d["kind"], d["card_id"], d["latest_version"]) for d in listed} == {
        ("prd", None, 1), ("prd", a["card"], 2), ("prd", other["id"], 1),
    }  # fmt: skip
    missing = await core.call("GET", f"/api/cards/{a['card']}/documents/mvp", world.viewer)
    assert missing.status_code == 404


async def test_the_project_lists_its_cards_documents_newest_first_with_each_version_and_its_writer(
    core: Core,
) -> None:
    world = await core.world()
    a = world.ids["a"]
    refunds = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Refunds"})
    checkout_run, refunds_run = uuid.uuid4(), uuid.uuid4()
    spec = DocumentWriteEffect(call_id="s1", name="tech_spec", title="Checkout spec", content="# Spec v1")
    await _deliver(core, _step(a, checkout_run, 1, spec, agent="dev_backend"))
    prd = DocumentWriteEffect(call_id="p1", name="prd", title="Refunds PRD", content="# Refunds")
    await _deliver(core, _step(a, refunds_run, 1, prd, card=refunds["id"], agent="prd"))
    respec = spec.model_copy(update={"call_id": "s2", "content": "# Spec v2"})
    await _deliver(core, _step(a, checkout_run, 2, respec, agent="dev_backend"))

    listed = await core.ok("GET", f"/api/projects/{a['project']}/documents", world.viewer)
    assert [(d["kind"], d["card_id"], d["card_title"], d["latest_version"]) for d in listed] == [
        ("tech_spec", a["card"], "Checkout", 2),
        ("prd", refunds["id"], "Refunds", 1),
        ("prd", None, None, 1),  # the project's own, written before any run
    ]

    base = f"/api/cards/{a['card']}/documents/tech_spec"
    history = await core.ok("GET", f"{base}/versions?limit=1", world.viewer)
    [newest] = history["items"]
    assert (newest["version"], newest["agent"], newest["source_run_id"], newest["card_title"]) == (
        2, "dev_backend", str(checkout_run), "Checkout",
    )  # fmt: skip
    older = await core.ok("GET", f"{base}/versions?limit=1&cursor={history['next_cursor']}", world.viewer)
    assert [v["version"] for v in older["items"]] == [1]
    assert older["next_cursor"] is None
    first = await core.ok("GET", f"{base}/versions/1", world.viewer)
    assert (first["content"], first["card_id"], first["agent"]) == ("# Spec v1", a["card"], "dev_backend")
    assert (await core.call("GET", f"{base}/versions/3", world.viewer)).status_code == 404
    assert (await core.call("GET", f"/api/cards/{a['card']}/documents/mvp/versions", world.viewer)).status_code == 404

    for path in (f"/api/projects/{a['project']}/documents", f"{base}/versions", f"{base}/versions/1"):
        assert (await core.call("GET", path, world.stranger)).status_code == 404, path
    theirs = await core.ok("GET", f"/api/projects/{world.ids['b']['project']}/documents", world.stranger)
    assert [d["card_id"] for d in theirs] == [None]  # their project's own PRD, none of A's cards' documents


async def _gate_first_lane(core: Core, world: World) -> None:
    await core.ok("PATCH", f"/api/lanes/{world.ids['a']['lanes'][0]}", world.member, {"requires_approval": True})


@pytest.mark.parametrize("approve", [True, False])
async def test_a_move_request_at_a_gated_lane_waits_for_a_persons_decision(core: Core, approve: bool) -> None:
    world = await core.world()
    a = world.ids["a"]
    await _gate_first_lane(core, world)
    run_id = uuid.uuid4()
    await _deliver(core, _step(a, run_id, 1, MoveRequestEffect(call_id="m", reason="Ready")))

    assert (await core.ok("GET", f"/api/cards/{a['card']}", world.viewer))["lane_id"] == a["lanes"][0]
    assert await _claims(core, run_id, a["workspace"]) == {"m": ("awaiting_approval", "Ready")}
    runs = (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.viewer))["runs"]
    assert next(r for r in runs if r["id"] == str(run_id))["approval"] == "pending"
    assert not [e for e in core.sink.events() if isinstance(e, CardMoved)]

    await core.ok("POST", f"/api/runs/{run_id}/{'approve' if approve else 'reject'}", world.member, {})

    lane = (await core.ok("GET", f"/api/cards/{a['card']}", world.viewer))["lane_id"]
    moves = [e for e in core.sink.events() if isinstance(e, CardMoved)]
    if approve:
        assert lane == a["lanes"][1]
        assert [(m.to_lane_number, m.actor_id) for m in moves] == [(1, None)]
        assert await _claims(core, run_id, a["workspace"]) == {"m": ("applied", "Ready")}
    else:
        assert (lane, moves) == (a["lanes"][0], [])
        assert await _claims(core, run_id, a["workspace"]) == {"m": ("declined", "Ready")}


async def test_a_move_request_respects_the_next_lanes_wip_limit(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    await core.ok("PATCH", f"/api/lanes/{a['lanes'][1]}", world.member, {"wip_limit": 1})
    await core.ok(
        "POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Busy", "lane_id": a["lanes"][1]}
    )
    run_id = uuid.uuid4()
    await _deliver(core, _step(a, run_id, 1, MoveRequestEffect(call_id="m")))
    assert (await core.ok("GET", f"/api/cards/{a['card']}", world.viewer))["lane_id"] == a["lanes"][0]
    [(outcome, detail)] = (await _claims(core, run_id, a["workspace"])).values()
    assert outcome == "refused"
    assert "WIP limit" in detail


async def _rejected(core: Core, event_id: uuid.UUID) -> bool:
    return await _outcomes(core, event_id) == ["rejected"]


async def test_a_step_commenting_on_another_workspaces_card_changes_nothing(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    run_id = uuid.uuid4()
    forged = _step(
        a,
        run_id,
        1,
        DocumentWriteEffect(call_id="doc", name="prd", title="PRD", content="# planted"),
        CommentEffect(call_id="comment", card_id=uuid.UUID(b["card"]), body="planted"),
    )
    await _deliver(core, forged)
    assert await _rejected(core, forged.id)
    assert await core.ok("GET", f"/api/cards/{a['card']}/documents", world.viewer) == []
    assert await core.ok("GET", f"/api/cards/{b['card']}/comments", world.stranger) == []
    assert await _claims(core, run_id, a["workspace"]) == {}


async def test_a_comment_on_a_card_that_is_not_the_runs_nor_its_child_is_refused_alone(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    other = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Other"})
    run_id = uuid.uuid4()
    step = _step(
        a,
        run_id,
        1,
        DocumentWriteEffect(call_id="doc", name="prd", title="PRD", content="# Kept"),
        CommentEffect(call_id="comment", card_id=uuid.UUID(other["id"]), body="misplaced"),
    )
    await _deliver(core, step)
    assert await core.ok("GET", f"/api/cards/{other['id']}/comments", world.viewer) == []
    [document] = await core.ok("GET", f"/api/cards/{a['card']}/documents", world.viewer)
    assert document["version"] == 1
    claims = await _claims(core, run_id, a["workspace"])
    assert claims["doc"] == ("applied", "")
    assert claims["comment"][0] == "refused"
    assert "neither this run's card nor one of its children" in claims["comment"][1]


async def test_a_step_for_another_workspaces_card_is_rejected(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    forged = _step(a, uuid.uuid4(), 1, MoveRequestEffect(call_id="m"), card=b["card"])
    await _deliver(core, forged)
    assert await _rejected(core, forged.id)
    assert (await core.ok("GET", f"/api/cards/{b['card']}", world.stranger))["lane_id"] == b["lanes"][0]


async def test_a_comment_may_name_a_child_the_same_step_creates(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.uuid4()
    child_id = child_card_id_for(run_id, 1, "child")
    await _deliver(
        core,
        _step(
            a,
            run_id,
            1,
            ChildCardEffect(call_id="child", title="Build the API"),
            CommentEffect(call_id="note", card_id=child_id, body="Start with the happy path."),
        ),
    )
    [comment] = await core.ok("GET", f"/api/cards/{child_id}/comments", world.viewer)
    assert comment["body"] == "Start with the happy path."


async def test_effects_on_a_deleted_card_are_recorded_as_skipped(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.uuid4()
    await core.ok("DELETE", f"/api/cards/{a['card']}", world.owner)
    await _deliver(core, _step(a, run_id, 1, DocumentWriteEffect(call_id="doc", name="prd", title="P", content="#")))
    assert await _claims(core, run_id, a["workspace"]) == {"doc": ("skipped", f"card {a['card']} no longer exists")}


async def test_a_skipped_run_shows_its_reason_on_the_card(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    skipped = AgentRunSkipped(
        workspace_id=uuid.UUID(a["workspace"]),
        project_id=uuid.UUID(a["project"]),
        run_id=uuid.uuid4(),
        card_id=uuid.UUID(a["card"]),
        agent="designer",
        reason_code="budget_exceeded",
        reason="The workspace's monthly budget is spent.",
    )
    await _deliver(core, skipped)
    await _deliver(core, skipped)
    runs = (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.viewer))["runs"]
    shown = next(r for r in runs if r["id"] == str(skipped.run_id))
    assert (shown["status"], shown["error_code"], shown["reason"]) == (
        "skipped", "budget_exceeded", "The workspace's monthly budget is spent.",
    )  # fmt: skip
    forged = skipped.model_copy(
        update={"id": uuid.uuid4(), "run_id": uuid.uuid4(), "card_id": uuid.UUID(world.ids["b"]["card"])}
    )
    await _deliver(core, forged)
    assert await _rejected(core, forged.id)


async def test_a_completed_tool_using_run_records_its_steps_and_the_limit_it_stopped_at(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = await core.completed_run(a["workspace"], a["project"], a["card"], steps=12, stopped_at_limit="steps")
    runs = (await core.ok("GET", f"/api/cards/{a['card']}/runs", world.viewer))["runs"]
    shown = next(r for r in runs if r["id"] == run_id)
    assert (shown["steps"], shown["stopped_at_limit"]) == (12, "steps")


async def test_the_orchestrator_reads_a_cards_documents_and_no_one_else_does(core: Core, dev_key: bytes) -> None:
    world = await core.world()
    a = world.ids["a"]
    await _deliver(
        core, _step(a, uuid.uuid4(), 1, DocumentWriteEffect(call_id="d", name="prd", title="PRD", content="# Card"))
    )
    orchestrator = LocalTokenSigner(dev_key, dev_service_account("orchestrator"))
    headers = {"authorization": f"Bearer {orchestrator.sign(CORE_URL)}"}
    listed = await core.client.get(f"/internal/cards/{a['card']}/documents", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [(d["name"], d["version"], "content" in d) for d in listed.json()] == [("prd", 1, False)]
    read = await core.client.get(f"/internal/cards/{a['card']}/documents/prd", headers=headers)
    assert (read.status_code, read.json()["content"]) == (200, "# Card")
    none = await core.client.get(f"/internal/cards/{a['card']}/documents/mvp", headers=headers)
    assert none.status_code == 404
    unknown = await core.client.get(f"/internal/cards/{uuid.uuid4()}/documents", headers=headers)
    assert unknown.status_code == 404
    as_gateway = await core.call("GET", f"/internal/cards/{a['card']}/documents", None)
    assert as_gateway.status_code == 403


async def test_people_comment_on_a_card_and_viewers_only_read(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    added = await core.ok("POST", f"/api/cards/{a['card']}/comments", world.member, {"body": "Ship it **today**"})
    assert (added["author_id"], added["agent"], added["run_id"]) == (str(world.member.id), None, None)
    refused = await core.call("POST", f"/api/cards/{a['card']}/comments", world.viewer, {"body": "me too"})
    assert refused.status_code == 403
    for body in ({"body": ""}, {"body": "x" * 20_001}, {"text": "hi"}):
        assert (await core.call("POST", f"/api/cards/{a['card']}/comments", world.member, body)).status_code == 422
    listed = await core.ok("GET", f"/api/cards/{a['card']}/comments", world.viewer)
    assert [c["body"] for c in listed] == ["Ship it **today**"]


async def test_the_effects_table_is_keyed_by_run_step_and_call(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.uuid4()
    comment = CommentEffect(call_id="same", card_id=uuid.UUID(a["card"]), body="step one")
    await _deliver(core, _step(a, run_id, 1, comment))
    await _deliver(core, _step(a, run_id, 2, comment.model_copy(update={"body": "step two"})))
    bodies = [c["body"] for c in await core.ok("GET", f"/api/cards/{a['card']}/comments", world.viewer)]
    assert bodies == ["step one", "step two"]
    async with core.app.state.ctx.db.transaction() as session:
        await set_tenant(session, workspace_id=uuid.UUID(a["workspace"]))
        assert await session.scalar(select(func.count()).select_from(AppliedEffect)) == 2


async def test_the_run_context_shows_the_card_its_criteria_checklist_and_parent(core: Core, dev_key: bytes) -> None:
    world = await core.world()
    a = world.ids["a"]
    child = await core.ok(
        "POST",
        f"/api/projects/{a['project']}/cards",
        world.member,
        {"title": "API", "parent_id": a["card"], "acceptance_criteria": ["Answers 201"]},
    )
    await core.ok("PATCH", f"/api/cards/{child['id']}", world.member, {"checklist": [{"text": "Schema"}]})
    orchestrator = LocalTokenSigner(dev_key, dev_service_account("orchestrator"))
    headers = {"authorization": f"Bearer {orchestrator.sign(CORE_URL)}"}
    context = await core.client.get(
        f"/internal/projects/{a['project']}/run-context", params={"card_id": child["id"]}, headers=headers
    )
    assert context.status_code == 200, context.text
    card = context.json()["card"]
    assert (card["parent_id"], card["acceptance_criteria"]) == (a["card"], ["Answers 201"])
    assert card["checklist"] == [{"text": "Schema", "done": False}]


PNG = b"\x89PNG\r\n\x1a\n" + b"pixels"


def _router_keeps(core: Core, workspace: str, name: str) -> None:
    """The provider router answers the image ``name`` for ``workspace`` only, as it keeps images."""

    def image_file(call: Call) -> Answer:
        if (call.path_params["image_file"], call.headers.get("x-aw-workspace-id")) == (name, workspace):
            return Answer(200, content=PNG, content_type="image/png")
        return Answer(404, {"error": {"code": "not_found", "message": "No such image.", "details": {}}})

    assert core.router is not None
    core.router.on("GET", "/v1/images/files/{image_file}", image_file)


async def test_people_of_the_workspace_see_the_images_agents_generated_for_a_card(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    mine, theirs = f"{uuid.uuid4().hex}.png", f"{uuid.uuid4().hex}.png"
    _router_keeps(core, a["workspace"], mine)
    images = (ImageEffect(call_id="mine", name=mine), ImageEffect(call_id="theirs", name=theirs))
    await _deliver(core, _step(a, uuid.uuid4(), 1, *images))
    shown = {i["name"]: i["id"] for i in await core.ok("GET", f"/api/cards/{a['card']}/images", world.viewer)}

    file = await core.call("GET", f"/api/cards/{a['card']}/images/{shown[mine]}/file", world.viewer)
    assert (file.status_code, file.content, file.headers["content-type"]) == (200, PNG, "image/png")
    not_kept = await core.call("GET", f"/api/cards/{a['card']}/images/{shown[theirs]}/file", world.viewer)
    assert (not_kept.status_code, not_kept.json()["error"]["code"]) == (404, "not_found")
    stranger = await core.call("GET", f"/api/cards/{a['card']}/images/{shown[mine]}/file", world.stranger)
    assert stranger.status_code == 404
    other_card = await core.call("GET", f"/api/cards/{b['card']}/images/{shown[mine]}/file", world.stranger)
    assert other_card.status_code == 404


async def test_a_console_run_has_no_card_to_act_on(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.uuid4()
    console = _step(
        a,
        run_id,
        1,
        CommentEffect(call_id="comment", card_id=uuid.UUID(a["card"]), body="from the console"),
        MoveRequestEffect(call_id="move"),
    ).model_copy(update={"card_id": None})
    await _deliver(core, console)
    assert await core.ok("GET", f"/api/cards/{a['card']}/comments", world.viewer) == []
    claims = await _claims(core, run_id, a["workspace"])
    assert claims == {
        "comment": ("refused", f"Card {a['card']} is neither this run's card nor one of its children."),
        "move": ("skipped", "the run has no card"),
    }


async def test_the_card_gate_tells_the_orchestrator_whether_a_run_waits_for_approval(
    core: Core, dev_key: bytes
) -> None:
    world = await core.world()
    a = world.ids["a"]
    headers = {
        "authorization": f"Bearer {LocalTokenSigner(dev_key, dev_service_account('orchestrator')).sign(CORE_URL)}"
    }

    async def gate() -> dict[str, object]:
        answer = await core.client.get(f"/internal/cards/{a['card']}/gate", headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    free = await gate()
    assert (free["workspace_id"], free["project_id"], free["card_id"]) == (a["workspace"], a["project"], a["card"])
    assert free["human_id"] == (await core.ok("GET", f"/api/cards/{a['card']}", world.member))["human_id"]
    assert (free["lane_number"], free["requires_approval"], free["approval_pending"]) == (0, False, False)
    await _gate_first_lane(core, world)
    run_id = uuid.uuid4()
    await _deliver(core, _step(a, run_id, 1, MoveRequestEffect(call_id="m", reason="Ready")))
    assert ((await gate())["requires_approval"], (await gate())["approval_pending"]) == (True, True)
    await core.ok("POST", f"/api/runs/{run_id}/approve", world.member, {})
    assert (await gate())["approval_pending"] is False
    missing = await core.client.get(f"/internal/cards/{uuid.uuid4()}/gate", headers=headers)
    assert missing.status_code == 404
