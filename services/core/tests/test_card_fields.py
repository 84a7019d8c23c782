"""One card shape: every card shape carries the fields of ``CardFields``, and the board's hand-rendered JSON is
exactly a ``BoardDetail``."""

from __future__ import annotations

from typing import Any

from agentworks_core.cards.schemas import CardCreate, CardOut, CardUpdate
from agentworks_core.models import Card
from agentworks_core.projects.schemas import BoardDetail
from agentworks_events import CardCreated, CardFields, CardSnapshot, CardUpdated

from .conftest import Core


def test_every_card_shape_carries_the_card_fields() -> None:
    fields = set(CardFields.model_fields)
    for shape in (CardCreate, CardUpdate, CardOut, CardSnapshot):
        assert fields <= set(shape.model_fields), shape.__name__
    assert set(CardUpdate.model_fields) == fields | {"clear"}
    assert fields <= set(Card.__table__.columns.keys())


async def test_the_board_json_is_exactly_a_board_detail(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    child = {"title": "Pay", "description": "By card", "card_type": "bug", "parent_id": a["card"]}
    await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, child)
    response = await core.call("GET", f"/api/boards/{a['board']}", world.member)
    assert response.status_code == 200
    board = response.json()
    assert board == BoardDetail.model_validate_json(response.content).model_dump(mode="json")
    cards = [card for lane in board["lanes"] for card in lane["cards"]]
    assert [card["runs"] is not None for card in cards] == [True, False]
    for card in cards:
        assert card == {**await core.ok("GET", f"/api/cards/{card['id']}", world.member), "runs": card["runs"]}


async def test_a_card_has_a_priority_set_on_create_and_update_shown_on_the_board_and_in_its_events(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    cards = f"/api/projects/{a['project']}/cards"
    assert (await core.ok("GET", f"/api/cards/{a['card']}", world.member))["priority"] == "none"
    urgent = await core.ok("POST", cards, world.member, {"title": "Outage", "priority": "urgent"})
    assert urgent["priority"] == "urgent"
    await core.ok("PATCH", f"/api/cards/{a['card']}", world.member, {"priority": "high"})
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    shown = {card["title"]: card["priority"] for lane in board["lanes"] for card in lane["cards"]}
    assert shown == {"Checkout": "high", "Outage": "urgent"}
    created, updated = core.sink.events()
    assert isinstance(created, CardCreated)
    assert created.card.priority == "urgent"
    assert isinstance(updated, CardUpdated)
    assert (updated.changed_fields, updated.card.priority) == (("priority",), "high")
    created_badly: tuple[dict[str, Any], ...] = (
        {"title": "Odd", "priority": "critical"},
        {"title": "Odd", "priority": None},
    )
    for body in created_badly:
        refused = await core.call("POST", cards, world.member, body)
        assert refused.status_code == 422, refused.text
    updated_badly: tuple[dict[str, Any], ...] = ({"priority": "critical"}, {"priority": None}, {"title": None})
    for body in updated_badly:
        refused = await core.call("PATCH", f"/api/cards/{a['card']}", world.member, body)
        assert refused.status_code == 422, refused.text


async def test_a_card_has_acceptance_criteria_and_a_checklist_people_edit_and_events_carry(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    cards = f"/api/projects/{a['project']}/cards"
    criteria = ["Pays by card", "Refuses an expired card"]
    created = await core.ok("POST", cards, world.member, {"title": "Pay", "acceptance_criteria": criteria})
    assert (created["acceptance_criteria"], created["checklist"]) == (criteria, [])
    checklist = [{"text": "Design the form", "done": True}, {"text": "Call the API", "done": False}]
    await core.ok("PATCH", f"/api/cards/{created['id']}", world.member, {"checklist": checklist})
    await core.ok("PATCH", f"/api/cards/{created['id']}", world.member, {"checklist": checklist})  # no change
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    [shown] = [card for lane in board["lanes"] for card in lane["cards"] if card["id"] == created["id"]]
    assert (shown["acceptance_criteria"], shown["checklist"]) == (criteria, checklist)
    created_event, updated = core.sink.events()
    assert isinstance(created_event, CardCreated)
    assert created_event.card.acceptance_criteria == tuple(criteria)
    assert isinstance(updated, CardUpdated)
    assert updated.changed_fields == ("checklist",)
    assert [item.text for item in updated.card.checklist] == ["Design the form", "Call the API"]
    refusals: tuple[dict[str, Any], ...] = (
        {"checklist": [{"text": ""}]},
        {"checklist": [{"text": "Ship", "owner": "me"}]},
        {"checklist": None},
        {"acceptance_criteria": ["x" * 501]},
        {"acceptance_criteria": ["ok"] * 51},
    )
    for body in refusals:
        refused = await core.call("PATCH", f"/api/cards/{created['id']}", world.member, body)
        assert refused.status_code == 422, refused.text
    unknown_field = {"title": "Ship", "checklist": [{"text": "Ship", "owner": "me"}]}
    refused = await core.call("POST", cards, world.member, unknown_field)
    assert refused.status_code == 422, refused.text
