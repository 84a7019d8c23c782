"""Short card ids (SHOP-42): a key per project, unique in its workspace, and a number per card from the project's
sequence, taken once even by cards created at the same moment; a short id resolves to its card in its workspace."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from agentworks_core.models import MIGRATIONS
from agentworks_core.projects.service import key_for
from agentworks_events import CardCreated
from agentworks_platform.migrations import upgrade_async
from sqlalchemy import DateTime, Integer, String, Uuid, column, insert, select, table
from sqlalchemy.ext.asyncio import create_async_engine

from .conftest import Core


def test_a_project_key_is_made_from_its_name_and_kept_unique() -> None:
    assert key_for("Shop", set()) == "SHOP"
    assert key_for("Online shop for pets", set()) == "OSFP"
    assert key_for("Warehouse", set()) == "WAREH"
    assert key_for("42 ?!", set()) == "P"
    assert key_for("Shop", {"SHOP"}) == "SHOP2"
    assert key_for("Shop", {"SHOP", "SHOP2"}) == "SHOP3"
    assert key_for("Warehouse", {f"WAREH{n}" for n in range(2, 12)} | {"WAREH"}) == "WAREH12"


async def test_cards_are_numbered_in_their_project_and_found_by_their_short_id(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    project = await core.ok("GET", f"/api/projects/{a['project']}", world.member)
    assert project["key"] == "SHOP"
    seeded = await core.ok("GET", f"/api/cards/{a['card']}", world.member)
    assert seeded["human_id"] == "SHOP-1"
    cards = f"/api/projects/{a['project']}/cards"
    created = await asyncio.gather(*(core.ok("POST", cards, world.member, {"title": f"Card {n}"}) for n in range(8)))
    assert sorted(card["human_id"] for card in created) == sorted(f"SHOP-{n}" for n in range(2, 10))
    events = [e for e in core.sink.events() if isinstance(e, CardCreated)]
    assert sorted(e.card.human_id for e in events) == sorted(card["human_id"] for card in created)
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert {card["human_id"] for lane in board["lanes"] for card in lane["cards"]} == {
        f"SHOP-{n}" for n in range(1, 10)
    }

    workspace = f"/api/workspaces/{a['workspace']}/cards"
    assert (await core.ok("GET", f"{workspace}/shop-1", world.viewer))["id"] == a["card"]
    assert (await core.call("GET", f"{workspace}/SHOP-99", world.viewer)).status_code == 404
    assert (await core.call("GET", f"{workspace}/SHOP-0", world.viewer)).status_code == 422
    assert (await core.call("GET", f"{workspace}/not-an-id", world.viewer)).status_code == 422
    # The other workspace has a SHOP-1 of its own, which a member of this one never reaches.
    elsewhere = await core.call("GET", f"/api/workspaces/{world.ids['b']['workspace']}/cards/SHOP-1", world.member)
    assert elsewhere.status_code == 404


async def test_a_second_project_of_the_same_name_gets_its_own_key(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    second = await core.ok("POST", f"/api/workspaces/{a['workspace']}/projects", world.member, {"name": "Shop"})
    assert second["key"] == "SHOP2"
    card = await core.ok("POST", f"/api/projects/{second['id']}/cards", world.member, {"title": "First"})
    assert card["human_id"] == "SHOP2-1"


async def test_owners_change_a_project_key_and_every_card_follows(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    project = f"/api/projects/{a['project']}"
    refused = await core.call("PATCH", project, world.member, {"key": "STORE"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    other = await core.ok("POST", f"/api/workspaces/{a['workspace']}/projects", world.owner, {"name": "Store"})
    taken = await core.call("PATCH", project, world.owner, {"key": other["key"]})
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "key_taken")
    for bad in ("1SHOP", "SHOP-X", "", "ABCDEFGHIJK"):
        assert (await core.call("PATCH", project, world.owner, {"key": bad})).status_code == 422, bad
    renamed = await core.ok("PATCH", project, world.owner, {"key": "mart"})
    assert renamed["key"] == "MART"
    assert (await core.ok("GET", f"/api/cards/{a['card']}", world.member))["human_id"] == "MART-1"
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.member)
    assert [card["human_id"] for lane in board["lanes"] for card in lane["cards"]] == ["MART-1"]
    assert (await core.ok("GET", f"/api/workspaces/{a['workspace']}/cards/MART-1", world.member))["id"] == a["card"]
    made = await core.ok("POST", f"{project}/cards", world.member, {"title": "Next"})
    assert made["human_id"] == "MART-2"


# The tables as migration 0010 left them (the models have moved on since).
WORKSPACES = table("workspaces", column("id", Uuid), column("name", String), column("created_by", Uuid))
PROJECTS = table(
    "projects",
    *(column(name, Uuid) for name in ("id", "workspace_id")),
    *(column(name, String) for name in ("name", "description", "status")),
    column("created_at", DateTime(timezone=True)),
)
BOARDS = table("boards", *(column(name, Uuid) for name in ("id", "workspace_id", "project_id")), column("name", String))
LANES = table(
    "lanes",
    *(column(name, Uuid) for name in ("id", "workspace_id", "board_id")),
    *(column(name, Integer) for name in ("number", "position")),
    column("name", String),
)
CARDS = table(
    "cards",
    *(column(name, Uuid) for name in ("id", "workspace_id", "project_id", "board_id", "lane_id")),
    column("order_key", Integer),
    *(column(name, String) for name in ("title", "description", "card_type")),
    column("created_at", DateTime(timezone=True)),
)


async def test_the_migration_numbers_existing_cards_in_the_order_they_were_made(database_url: str) -> None:
    await upgrade_async(Path(MIGRATIONS), database_url, "0010")
    workspace, first, second, board, lane = (uuid.uuid4() for _ in range(5))
    cards = [uuid.uuid4() for _ in range(3)]
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(WORKSPACES).values(id=workspace, name="W", created_by=workspace))
            await connection.execute(
                insert(PROJECTS),
                [
                    {"id": first, "workspace_id": workspace, "name": "Shop", "description": "", "status": "active",
                     "created_at": datetime(2026, 1, 1, tzinfo=UTC)},
                    {"id": second, "workspace_id": workspace, "name": "Shop", "description": "", "status": "active",
                     "created_at": datetime(2026, 2, 1, tzinfo=UTC)},
                ],
            )  # fmt: skip
            await connection.execute(
                insert(BOARDS).values(id=board, workspace_id=workspace, project_id=first, name="B")
            )
            await connection.execute(
                insert(LANES).values(id=lane, workspace_id=workspace, board_id=board, number=0, position=0, name="L")
            )
            made = (
                datetime(2026, 3, 3, tzinfo=UTC),
                datetime(2026, 3, 1, tzinfo=UTC),
                datetime(2026, 3, 2, tzinfo=UTC),
            )
            await connection.execute(
                insert(CARDS),
                [
                    {"id": card, "workspace_id": workspace, "project_id": first, "board_id": board, "lane_id": lane,
                     "order_key": n, "title": f"C{n}", "description": "", "card_type": "task", "created_at": at}
                    for n, (card, at) in enumerate(zip(cards, made, strict=True))
                ],
            )  # fmt: skip
        await upgrade_async(Path(MIGRATIONS), database_url)
        async with engine.connect() as connection:
            ids = column("id", Uuid)
            keys = dict(
                (await connection.execute(select(ids, column("key", String)).select_from(table("projects")))).all()
            )
            short = select(ids, column("human_id", String)).select_from(table("cards"))
            numbered = dict((await connection.execute(short)).all())
            sequence = await connection.scalar(
                select(column("card_sequence", Integer))
                .select_from(table("projects"))
                .where(column("id", Uuid) == first)
            )
    finally:
        await engine.dispose()
    assert keys == {first: "SHOP", second: "SHOP2"}
    assert numbered == {cards[1]: "SHOP-1", cards[2]: "SHOP-2", cards[0]: "SHOP-3"}
    assert sequence == 3
