"""A card's labels (its project's, coloured), due date and assignee (a person of the workspace or an agent)."""

from __future__ import annotations

from typing import Any

from agentworks_events import CardUpdated

from .conftest import Core


def _cards(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {card["title"]: card for lane in board["lanes"] for card in lane["cards"]}


async def test_members_make_labels_put_them_on_cards_and_the_board_shows_both(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    labels = f"/api/projects/{a['project']}/labels"
    bug = await core.ok("POST", labels, world.member, {"name": "Bug", "color": "#EB5757"})
    assert (bug["name"], bug["color"], bug["project_id"]) == ("Bug", "#eb5757", a["project"])
    taken = await core.call("POST", labels, world.member, {"name": "Bug", "color": "#000000"})
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "label_exists")
    for bad in (
        {"name": "Odd", "color": "red"},
        {"name": " ", "color": "#000000"},
        {"name": "x" * 41, "color": "#000000"},
    ):
        assert (await core.call("POST", labels, world.member, bad)).status_code == 422, bad
    assert [label["name"] for label in await core.ok("GET", labels, world.viewer)] == ["Bug", "Payments"]

    card = f"/api/cards/{a['card']}"
    core.sink.published.clear()
    labelled = await core.ok("PUT", f"{card}/labels/{bug['id']}", world.member)
    assert labelled["label_ids"] == [bug["id"]]
    assert (await core.ok("PUT", f"{card}/labels/{bug['id']}", world.member))["label_ids"] == [bug["id"]]  # no-op
    [updated] = core.sink.events()
    assert isinstance(updated, CardUpdated)
    assert (updated.changed_fields, [str(i) for i in updated.card.label_ids]) == (("label_ids",), [bug["id"]])

    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert _cards(board)["Checkout"]["label_ids"] == [bug["id"]]
    assert {label["name"]: label["color"] for label in board["labels"]} == {"Bug": "#eb5757", "Payments": "#2f80ed"}

    renamed = await core.ok("PATCH", f"/api/labels/{bug['id']}", world.member, {"name": "Defect"})
    assert (renamed["name"], renamed["color"]) == ("Defect", "#eb5757")
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert "Defect" in {label["name"] for label in board["labels"]}
    clash = await core.call("PATCH", f"/api/labels/{bug['id']}", world.member, {"name": "Payments"})
    assert (clash.status_code, clash.json()["error"]["code"]) == (409, "label_exists")

    assert (await core.ok("DELETE", f"{card}/labels/{bug['id']}", world.member))["label_ids"] == []


async def test_a_card_holds_only_its_own_project_s_labels(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    card = f"/api/cards/{a['card']}"
    foreign = await core.call("PUT", f"{card}/labels/{b['label']}", world.member)
    assert foreign.status_code == 404
    refused = await core.call("PATCH", card, world.member, {"label_ids": [b["label"]]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_label")
    too_many = await core.call("PATCH", card, world.member, {"label_ids": [a["label"]] * 21})
    assert too_many.status_code == 422
    patched = await core.ok("PATCH", card, world.member, {"label_ids": [a["label"], a["label"]]})
    assert patched["label_ids"] == [a["label"]]
    other = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Other"})
    assert other["label_ids"] == []
    created = await core.ok(
        "POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Tagged", "label_ids": [a["label"]]}
    )
    assert created["label_ids"] == [a["label"]]


async def test_deleting_a_label_takes_it_off_every_card_and_says_so(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    second = await core.ok(
        "POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Second", "label_ids": [a["label"]]}
    )
    await core.ok("PUT", f"/api/cards/{a['card']}/labels/{a['label']}", world.member)
    core.sink.published.clear()
    await core.ok("DELETE", f"/api/labels/{a['label']}", world.member)
    events = core.sink.events()
    assert sorted(str(e.card_id) for e in events) == sorted([a["card"], second["id"]])
    assert all(isinstance(e, CardUpdated) and e.card.label_ids == () for e in events)
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert board["labels"] == []
    assert all(card["label_ids"] == [] for card in _cards(board).values())
    assert (await core.call("GET", f"/api/labels/{a['label']}", world.member)).status_code in (404, 405)
    assert (
        await core.call("PATCH", f"/api/labels/{a['label']}", world.member, {"color": "#000000"})
    ).status_code == 404


async def test_a_card_has_a_due_date_set_changed_and_cleared(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    card = f"/api/cards/{a['card']}"
    created = await core.ok(
        "POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Launch", "due_date": "2026-12-24"}
    )
    assert created["due_date"] == "2026-12-24"
    assert (await core.ok("PATCH", card, world.member, {"due_date": "2027-01-31"}))["due_date"] == "2027-01-31"
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert _cards(board)["Checkout"]["due_date"] == "2027-01-31"
    assert (await core.ok("PATCH", card, world.member, {"clear": ["due_date"]}))["due_date"] is None
    for bad in ("2026-02-30", "tomorrow", "2026-12-24T10:00:00Z"):
        assert (await core.call("PATCH", card, world.member, {"due_date": bad})).status_code == 422, bad


async def test_a_card_is_assigned_to_a_person_of_the_workspace_or_an_agent_never_both(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    card = f"/api/cards/{a['card']}"
    person = await core.ok("PATCH", card, world.member, {"assignee_id": str(world.viewer.id)})
    assert (person["assignee_id"], person["assignee_agent"]) == (str(world.viewer.id), None)
    agent = await core.ok("PATCH", card, world.member, {"assignee_agent": "dev_backend"})
    assert (agent["assignee_id"], agent["assignee_agent"]) == (None, "dev_backend")
    back = await core.ok("PATCH", card, world.member, {"assignee_id": str(world.owner.id)})
    assert (back["assignee_id"], back["assignee_agent"]) == (str(world.owner.id), None)
    refusals: tuple[dict[str, Any], ...] = (
        {"assignee_id": str(world.stranger.id)},  # another workspace's owner
        {"assignee_agent": "janitor"},
        {"assignee_agent": "Not A Key"},
        {"assignee_id": str(world.member.id), "assignee_agent": "qa"},
    )
    for body in refusals:
        refused = await core.call("PATCH", card, world.member, body)
        assert refused.status_code == 422, (body, refused.text)
    both = await core.call(
        "POST", f"/api/projects/{a['project']}/cards", world.member,
        {"title": "Two", "assignee_id": str(world.member.id), "assignee_agent": "qa"},
    )  # fmt: skip
    assert (both.status_code, both.json()["error"]["code"]) == (422, "invalid_assignee")
    cleared = await core.ok("PATCH", card, world.member, {"clear": ["assignee_id", "assignee_agent"]})
    assert (cleared["assignee_id"], cleared["assignee_agent"]) == (None, None)
