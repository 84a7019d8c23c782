from __future__ import annotations

import asyncio
import uuid
from typing import Any

from agentworks_core.projects.board_cache import BoardCache
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
    await core.ok("DELETE", f"/api/cards/{card['id']}", world.owner)
    assert core.sink.types() == ["card.created", "card.updated", "card.moved", "card.deleted"]
    created = core.sink.events()[0]
    assert isinstance(created, CardCreated)
    assert created.card.title == "Pay"
    assert created.actor_id == world.member.id
    assert len(set(core.sink.event_ids())) == 4


async def _board(core: Core, board: str, user: User, etag: str | None = None) -> tuple[int, str, Any]:
    headers = {"if-none-match": etag} if etag else {}
    response = await core.call("GET", f"/api/boards/{board}", user, headers=headers)
    assert response.status_code in (200, 304), response.text
    assert response.headers["cache-control"] == "private, no-cache"
    return response.status_code, response.headers["etag"], response.json() if response.content else None


async def test_every_change_to_a_board_is_seen_by_the_next_read_and_unchanged_boards_answer_304(core: Core) -> None:
    world = await core.world()
    a, member = world.ids["a"], world.member
    status, etag, _ = await _board(core, a["board"], member)
    assert status == 200
    assert await _board(core, a["board"], member, etag) == (304, etag, None)
    assert (await _board(core, a["board"], member, f'"x", {etag.removeprefix("W/")}'))[0] == 304
    seen = {etag}

    async def changed() -> Any:
        status, new_etag, board = await _board(core, a["board"], member, etag)
        assert status == 200
        assert new_etag not in seen
        seen.add(new_etag)
        assert await _board(core, a["board"], member, new_etag) == (304, new_etag, None)
        return board

    def titles(board: Any, lane: int) -> list[str]:
        return [card["title"] for card in board["lanes"][lane]["cards"]]

    body = {"title": "New", "lane_id": a["lanes"][2]}
    card = await core.ok("POST", f"/api/projects/{a['project']}/cards", member, body)
    assert titles(await changed(), 2) == ["New"]
    await core.ok("PATCH", f"/api/cards/{card['id']}", member, {"title": "Renamed"})
    assert titles(await changed(), 2) == ["Renamed"]
    await core.ok("PUT", f"/api/cards/{card['id']}/move", member, {"lane_id": a["lanes"][3]})
    board = await changed()
    assert (titles(board, 2), titles(board, 3)) == ([], ["Renamed"])
    await core.ok("PATCH", f"/api/lanes/{a['lanes'][3]}", member, {"wip_limit": 4})
    assert (await changed())["lanes"][3]["wip_limit"] == 4
    await core.completed_run(a["workspace"], a["project"], card["id"], agent="architect")
    assert (await changed())["lanes"][3]["cards"][0]["runs"]["last_agent"] == "architect"
    await core.ok("DELETE", f"/api/cards/{card['id']}", world.owner)
    assert titles(await changed(), 3) == []
    other = world.ids["b"]
    _, untouched, _ = await _board(core, other["board"], world.stranger)
    await core.ok("POST", f"/api/projects/{a['project']}/cards", member, {"title": "Elsewhere"})
    assert await _board(core, other["board"], world.stranger, untouched) == (304, untouched, None)


def test_the_board_cache_keeps_the_newest_revision_within_its_size() -> None:
    cache = BoardCache(max_bytes=10)
    first, second = uuid.uuid4(), uuid.uuid4()
    cache.put(first, 1, b"12345")
    assert cache.get(first, 1) == b"12345"
    assert cache.get(first, 2) is None
    cache.put(first, 2, b"123")
    assert (cache.get(first, 1), cache.get(first, 2), cache.size) == (None, b"123", 3)
    cache.put(second, 1, b"12345678")
    assert (cache.get(first, 2), cache.get(second, 1), cache.size) == (None, b"12345678", 8)
    cache.put(second, 2, b"x" * 11)
    assert (cache.get(second, 2), cache.size) == (None, 0)
