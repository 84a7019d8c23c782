from __future__ import annotations

import asyncio

from agentworks_events import CardCreated, CardMoved

from .conftest import Core, User


async def test_creating_a_project_creates_its_board_with_the_default_lanes(core: Core) -> None:
    owner = User.new("owner")
    workspace = await core.ok("POST", "/api/workspaces", owner, {"name": "Acme"})
    assert workspace["role"] == "owner"
    project = await core.ok("POST", f"/api/workspaces/{workspace['id']}/projects", owner, {"name": "Shop"})
    board = await core.ok("GET", f"/api/boards/{project['board_id']}", owner)
    assert [lane["name"] for lane in board["lanes"]] == [
        "Vision & Strategy",
        "Product",
        "Design",
        "Architecture",
        "Ready",
        "Build",
        "Review",
        "Test",
        "Done",
    ]
    assert [lane["number"] for lane in board["lanes"]] == list(range(9))
    listed = await core.ok("GET", f"/api/workspaces/{workspace['id']}/projects", owner)
    assert [(p["id"], p["board_id"]) for p in listed["items"]] == [(project["id"], project["board_id"])]


async def test_cards_keep_dense_ordered_positions_through_moves(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    titles = ["one", "two", "three"]
    cards = [
        await core.ok(
            "POST", f"/api/projects/{a['project']}/cards", world.member, {"title": t, "lane_id": a["lanes"][1]}
        )
        for t in titles
    ]
    assert [c["position"] for c in cards] == [0, 1, 2]
    await core.ok("PUT", f"/api/cards/{cards[2]['id']}/move", world.member, {"lane_id": a["lanes"][1], "position": 0})
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    lane1 = board["lanes"][1]
    assert [c["title"] for c in lane1["cards"]] == ["three", "one", "two"]
    assert [c["position"] for c in lane1["cards"]] == [0, 1, 2]
    await core.ok("PUT", f"/api/cards/{cards[1]['id']}/move", world.member, {"lane_id": a["lanes"][2]})
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    assert [c["title"] for c in board["lanes"][1]["cards"]] == ["three", "one"]
    assert [c["position"] for c in board["lanes"][1]["cards"]] == [0, 1]
    assert [c["title"] for c in board["lanes"][2]["cards"]] == ["two"]
    moved = [e for e in core.sink.events() if isinstance(e, CardMoved)]
    assert [(m.from_lane_number, m.to_lane_number) for m in moved] == [(1, 1), (1, 2)]
    assert moved[-1].changed_lane


async def test_wip_limit_refuses_a_move_with_a_clear_409(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    build = a["lanes"][5]
    await core.ok("PATCH", f"/api/lanes/{build}", world.member, {"wip_limit": 1})
    first = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "first"})
    second = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "second"})
    await core.ok("PUT", f"/api/cards/{first['id']}/move", world.member, {"lane_id": build})
    refused = await core.call("PUT", f"/api/cards/{second['id']}/move", world.member, {"lane_id": build})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "wip_limit_reached"
    assert "WIP limit (1/1)" in error["message"]
    assert not [e for e in core.sink.events() if isinstance(e, CardMoved) and e.card_id == second["id"]]


async def test_two_concurrent_moves_into_the_last_slot_exactly_one_wins(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    review = a["lanes"][6]
    await core.ok("PATCH", f"/api/lanes/{review}", world.member, {"wip_limit": 1})
    cards = [
        await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": f"c{i}"}) for i in range(4)
    ]
    results = await asyncio.gather(
        *(core.call("PUT", f"/api/cards/{c['id']}/move", world.member, {"lane_id": review}) for c in cards)
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    assert board["lanes"][6]["card_count"] == 1
    assert len([e for e in core.sink.events() if isinstance(e, CardMoved)]) == 1


async def test_each_committed_change_publishes_exactly_one_event(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    card = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Pay"})
    await core.ok("PATCH", f"/api/cards/{card['id']}", world.member, {"title": "Pay by card"})
    await core.ok("PATCH", f"/api/cards/{card['id']}", world.member, {"title": "Pay by card"})  # no change
    await core.ok("PUT", f"/api/cards/{card['id']}/move", world.member, {"lane_id": a["lanes"][1]})
    bad = await core.call("PUT", f"/api/cards/{card['id']}/move", world.member, {"lane_id": world.ids["b"]["lanes"][1]})
    assert bad.status_code == 422
    await core.ok("DELETE", f"/api/cards/{card['id']}", world.member)
    assert core.sink.types() == ["card.created", "card.updated", "card.moved", "card.deleted"]
    created = core.sink.events()[0]
    assert isinstance(created, CardCreated)
    assert created.card.title == "Pay"
    assert created.actor_id == world.member.id
    assert len(set(core.sink.event_ids())) == 4
