"""Archiving takes a card off the board (the archived list shows it) and unarchiving puts it back where it was;
deleting for good (a card, or a project with its cards) is the owners'."""

from __future__ import annotations

import uuid
from typing import Any

from agentworks_core.models import outbox
from agentworks_events import CardArchived, CardDeleted, CardUnarchived, ProjectDeleted
from agentworks_platform.db import Database
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from sqlalchemy import select

from .conftest import CORE_URL, Core


def _titles(board: dict[str, Any], lane: int) -> list[str]:
    return [card["title"] for card in board["lanes"][lane]["cards"]]


async def test_an_archived_card_leaves_the_board_and_returns_to_its_place(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    cards = f"/api/projects/{a['project']}/cards"
    made = [await core.ok("POST", cards, world.member, {"title": title}) for title in ("Two", "Three")]
    core.sink.published.clear()
    archived = await core.ok("POST", f"/api/cards/{made[0]['id']}/archive", world.member)
    assert archived["archived_at"] is not None
    again = await core.ok("POST", f"/api/cards/{made[0]['id']}/archive", world.member)
    assert again["archived_at"] == archived["archived_at"]
    [event] = core.sink.events()
    assert isinstance(event, CardArchived)
    assert str(event.lane_id) == a["lanes"][0]

    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert (_titles(board, 0), board["lanes"][0]["card_count"]) == (["Checkout", "Three"], 2)
    listed = await core.ok("GET", f"{cards}?archived=true", world.viewer)
    assert [card["title"] for card in listed["items"]] == ["Two"]
    assert "Two" not in [card["title"] for card in (await core.ok("GET", cards, world.viewer))["items"]]
    moved = await core.call("PUT", f"/api/cards/{made[0]['id']}/move", world.member, {"lane_id": a["lanes"][1]})
    assert (moved.status_code, moved.json()["error"]["code"]) == (409, "card_archived")
    # Cards moved around meanwhile do not count it.
    await core.ok("PUT", f"/api/cards/{made[1]['id']}/move", world.member, {"lane_id": a["lanes"][0], "position": 1})

    core.sink.published.clear()
    restored = await core.ok("POST", f"/api/cards/{made[0]['id']}/unarchive", world.member)
    assert (restored["archived_at"], restored["lane_id"], restored["position"]) == (None, a["lanes"][0], 1)
    [event] = core.sink.events()
    assert isinstance(event, CardUnarchived)
    assert event.card.position == 1
    board = await core.ok("GET", f"/api/boards/{a['board']}", world.viewer)
    assert _titles(board, 0) == ["Checkout", "Two", "Three"]
    await core.ok("POST", f"/api/cards/{made[0]['id']}/unarchive", world.member)  # already back: a no-op
    assert core.sink.events() == [event]


async def test_a_lane_at_its_wip_limit_refuses_an_unarchive(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    card = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Two"})
    await core.ok("POST", f"/api/cards/{card['id']}/archive", world.member)
    await core.ok("PATCH", f"/api/lanes/{a['lanes'][0]}", world.member, {"wip_limit": 1})
    refused = await core.call("POST", f"/api/cards/{card['id']}/unarchive", world.member)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "wip_limit_reached")
    await core.ok("PATCH", f"/api/lanes/{a['lanes'][0]}", world.member, {"wip_limit": 2})
    assert (await core.ok("POST", f"/api/cards/{card['id']}/unarchive", world.member))["archived_at"] is None


async def test_only_owners_delete_a_card_for_good(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    card = f"/api/cards/{a['card']}"
    refused = await core.call("DELETE", card, world.member)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    await core.ok("POST", f"{card}/archive", world.member)
    core.sink.published.clear()
    assert (await core.call("DELETE", card, world.owner)).status_code == 204
    [event] = core.sink.events()
    assert isinstance(event, CardDeleted)
    assert (await core.call("GET", card, world.owner)).status_code == 404
    listed = await core.ok("GET", f"/api/projects/{a['project']}/cards?archived=true", world.owner)
    assert listed["items"] == []


async def test_deleting_a_project_publishes_project_deleted_once_for_its_repository(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    project = f"/api/projects/{a['project']}"
    refused = await core.call("DELETE", project, world.member)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    core.sink.published.clear()
    assert (await core.call("DELETE", project, world.owner)).status_code == 204
    [event] = core.sink.events()
    assert isinstance(event, ProjectDeleted)
    assert (event.workspace_id, event.project_id) == (uuid.UUID(a["workspace"]), uuid.UUID(a["project"]))
    assert event.actor_id == world.owner.id
    assert event.ordering_key == a["project"]
    assert (await core.call("DELETE", project, world.owner)).status_code == 404
    assert core.sink.events() == [event]


async def test_deleting_a_workspace_publishes_project_deleted_for_each_of_its_projects_once(
    core: Core, dev_key: bytes
) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    workspace = f"/api/workspaces/{a['workspace']}"
    second = await core.ok("POST", f"{workspace}/projects", world.owner, {"name": "Second"})
    projects = [uuid.UUID(a["project"]), uuid.UUID(second["id"])]
    refused = await core.call("DELETE", workspace, world.member)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    core.sink.published.clear()
    assert (await core.call("DELETE", workspace, world.owner)).status_code == 204
    events = core.sink.events()
    assert all(isinstance(event, ProjectDeleted) for event in events)
    assert sorted(event.project_id for event in events) == sorted(projects)
    assert {(event.workspace_id, event.actor_id) for event in events} == {(uuid.UUID(a["workspace"]), world.owner.id)}
    assert sorted(event.ordering_key for event in events) == sorted(str(p) for p in projects)
    # Staged in the deletion's own transaction: the outbox holds each event once.
    db: Database = core.client._transport.app.state.ctx.db  # type: ignore[attr-defined]
    async with db.transaction() as session:
        staged = (
            await session.scalars(select(outbox.c.event_id).where(outbox.c.event_type == "project.deleted"))
        ).all()
    assert sorted(staged) == sorted(str(event.id) for event in events)
    # What the orchestrator asks before removing a repository: core no longer has either project.
    orchestrator = LocalTokenSigner(dev_key, dev_service_account("orchestrator"))
    headers = {"authorization": f"Bearer {orchestrator.sign(CORE_URL)}"}
    for project in projects:
        assert (await core.client.get(f"/internal/projects/{project}", headers=headers)).status_code == 404
    assert (await core.client.get(f"/internal/projects/{b['project']}", headers=headers)).status_code == 200
    assert (await core.call("DELETE", workspace, world.owner)).status_code == 404
    assert core.sink.events() == events
