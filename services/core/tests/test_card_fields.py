"""One card shape: every card shape carries the fields of ``CardFields``, and the board's hand-rendered JSON is
exactly a ``BoardDetail``."""

from __future__ import annotations

from agentworks_core.cards.schemas import CardCreate, CardOut, CardUpdate
from agentworks_core.models import Card
from agentworks_core.projects.schemas import BoardDetail
from agentworks_events import CardFields, CardSnapshot

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
