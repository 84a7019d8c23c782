"""A card's activity: edits with what changed, moves, archiving, runs and their outcome, approvals, comments and
merges of its code (the orchestrator's ``code.merged``), newest first, a page at a time, each item once."""

from __future__ import annotations

import uuid
from typing import Any

from agentworks_core.models import inbox
from agentworks_events import CodeMerged
from sqlalchemy import select

from .conftest import Core


async def _timeline(core: Core, card: str, user: Any, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await core.ok("GET", f"/api/cards/{card}/activity?limit={limit}{cursor}", user)
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


async def test_the_timeline_tells_what_happened_to_a_card_newest_first(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    card = a["card"]
    await core.ok("PATCH", f"/api/cards/{card}", world.member, {"title": "Checkout v2", "priority": "high"})
    await core.ok("PUT", f"/api/cards/{card}/move", world.member, {"lane_id": a["lanes"][1]})
    await core.ok("POST", f"/api/cards/{card}/comments", world.member, {"body": "Looks right"})
    held = await core.completed_run(a["workspace"], a["project"], card, agent="prd", requires_approval=True)
    await core.ok("POST", f"/api/runs/{held}/approve", world.member, {"comment": "Ship it"})
    await core.ok("POST", f"/api/cards/{card}/archive", world.member)

    items = await _timeline(core, card, world.viewer, limit=50)
    kinds = [item["kind"] for item in items]
    assert kinds[0] == "archived"
    assert kinds[-1] == "created"
    assert sorted(kinds) == sorted(["created", "run", "edited", "moved", "comment", "run", "approval", "archived"]), (
        kinds
    )
    times = [item["at"] for item in items]
    assert times == sorted(times, reverse=True)
    by_kind = {item["kind"]: item for item in items}
    edited = by_kind["edited"]
    assert {c["field"]: (c["before"], c["after"]) for c in edited["changes"]} == {
        "title": ("Checkout", "Checkout v2"),
        "priority": ("none", "high"),
    }
    assert edited["actor_id"] == str(world.member.id)
    assert (by_kind["moved"]["from_lane"], by_kind["moved"]["to_lane"]) == ("0 Vision & Strategy", "1 Product")
    assert (by_kind["comment"]["text"], by_kind["comment"]["actor_id"]) == ("Looks right", str(world.member.id))
    approval = by_kind["approval"]
    assert (approval["decision"], approval["agent"], approval["run_id"]) == ("approved", "prd", held)
    runs = {item["run_id"]: item["status"] for item in items if item["kind"] == "run"}
    assert runs == {a["run"]: "completed", held: "completed"}

    paged = await _timeline(core, card, world.viewer, limit=3)
    assert [item["id"] for item in paged] == [item["id"] for item in items]


async def test_the_timeline_is_the_card_s_own_and_its_cursor_is_checked(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    foreign = await core.call("GET", f"/api/cards/{b['card']}/activity", world.member)
    assert foreign.status_code == 404
    bad = await core.call("GET", f"/api/cards/{a['card']}/activity?cursor=nonsense", world.member)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_cursor")
    other = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Other"})
    items = (await core.ok("GET", f"/api/cards/{other['id']}/activity", world.member))["items"]
    assert [item["kind"] for item in items] == ["created"]


def _merged(ids: dict[str, Any], merged_by: uuid.UUID, **changes: Any) -> CodeMerged:
    fields: dict[str, Any] = {
        "workspace_id": uuid.UUID(ids["workspace"]),
        "project_id": uuid.UUID(ids["project"]),
        "card_id": uuid.UUID(ids["card"]),
        "merged_by": merged_by,
        "branch": "card/checkout-1a2b3c4d",
        "merged_sha": "c0ffee" + "0" * 34,
        "base_sha": "b" * 40,
    }
    return CodeMerged(**{**fields, **changes})


async def _inbox_outcome(core: Core, event: CodeMerged) -> str | None:
    async with core.app.state.ctx.db.transaction() as session:
        outcome: str | None = await session.scalar(select(inbox.c.outcome).where(inbox.c.event_id == str(event.id)))
        return outcome


async def test_a_merge_of_the_card_s_code_is_in_its_timeline_once(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    merged = _merged(a, world.member.id)
    assert (await core.push(merged)).status_code == 204
    assert (await core.push(merged)).status_code == 204  # a duplicate delivery records nothing twice

    items = await _timeline(core, a["card"], world.viewer, limit=50)
    [merge] = [item for item in items if item["kind"] == "merged"]
    assert items[0] == merge  # the newest thing that happened to the card
    assert (merge["action"], merge["actor_id"], merge["branch"], merge["sha"]) == (
        "code.merged", str(world.member.id), "card/checkout-1a2b3c4d", merged.merged_sha,
    )  # fmt: skip
    assert merge["at"].startswith(merged.occurred_at.strftime("%Y-%m-%dT%H:%M:%S"))
    audit = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit", world.owner)
    assert [entry["action"] for entry in audit["items"]].count("code.merged") == 1


async def test_a_merge_naming_another_workspace_s_card_or_project_is_rejected(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    forged = [
        _merged(a, world.member.id, card_id=uuid.UUID(b["card"])),
        _merged(a, world.member.id, project_id=uuid.UUID(b["project"])),
        _merged(a, world.member.id, project_id=uuid.uuid4()),
    ]
    for event in forged:
        assert (await core.push(event)).status_code == 204
        assert await _inbox_outcome(core, event) == "rejected"
    for card in (a["card"], b["card"]):
        items = await _timeline(core, card, world.owner if card == a["card"] else world.stranger, limit=50)
        assert "merged" not in [item["kind"] for item in items]
