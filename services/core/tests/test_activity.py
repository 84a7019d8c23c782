"""A card's activity: edits with what changed, moves, archiving, runs and their outcome, approvals and comments,
newest first, a page at a time, each item once."""

from __future__ import annotations

from typing import Any

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
