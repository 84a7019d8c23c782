"""Input rules and the timestamp format, through core's API on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from agentworks_events import UTC_TEXT_PATTERN

from .conftest import Core


def timestamps(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every ``*_at`` field (at any depth) of a JSON value, with its key."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from timestamps(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from timestamps(item, key)
    elif key.endswith("_at"):
        yield key, value


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/workspaces", {"name": "Ac\u0000me"}),
        ("PATCH", "/api/workspaces/{workspace}", {"name": "\u0000"}),
        ("POST", "/api/workspaces/{workspace}/projects", {"name": "Shop", "description": "a\u0000"}),
        ("POST", "/api/projects/{project}/cards", {"title": "Checkout\u0000"}),
        ("PATCH", "/api/cards/{card}", {"description": "line\u0000"}),
        ("PATCH", "/api/lanes/{lane}", {"name": "Build\u0000"}),
        ("PUT", "/api/projects/{project}/documents/prd", {"content": "# PRD\u0000"}),
        ("PUT", "/api/projects/{project}/documents/prd", {"content": "# PRD", "title": "\u0000"}),
        ("POST", "/api/cards/{card}/agents/prd/run", {"instructions": "go\u0000"}),
        ("GET", "/api/workspaces?cursor=%00", None),
        ("GET", "/api/projects/{project}/cards?cursor=abc%00", None),
    ],
)
async def test_nul_in_any_text_is_a_422_on_both_databases_and_changes_nothing(
    core: Core, method: str, path: str, body: object
) -> None:
    world = await core.world()
    a = world.ids["a"]
    values = {"workspace": a["workspace"], "project": a["project"], "card": a["card"], "lane": a["lanes"][1]}
    before = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit", world.owner)
    response = await core.call(method, path.format(**values), world.owner, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "NUL" in error["details"][0]["problem"]
    assert await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit", world.owner) == before
    assert core.sink.published == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/projects/{project}/documents/prd/versions/99999999999999999999",
        "/api/projects/{project}/documents/prd/versions/2147483648",
    ],
)
async def test_an_integer_beyond_its_column_is_a_422(core: Core, path: str) -> None:
    world = await core.world()
    response = await core.call("GET", path.format(project=world.ids["a"]["project"]), world.owner)
    assert response.status_code == 422, response.text


async def test_a_cursor_with_an_integer_beyond_64_bits_is_a_400(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    forged = "WyI5OTk5OTk5OTk5OTk5OTk5OTk5OTk5Il0"  # ["99999999999999999999999"]
    response = await core.call(
        "GET", f"/api/projects/{a['project']}/documents/prd/versions?cursor={forged}", world.owner
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_cursor"), response.text


async def test_every_timestamp_is_utc_with_z_and_the_same_wherever_the_resource_appears(core: Core) -> None:
    world = await core.world()
    a, owner = world.ids["a"], world.owner
    created = await core.ok("POST", f"/api/projects/{a['project']}/cards", owner, {"title": "Timed"})
    moved = await core.ok("PUT", f"/api/cards/{created['id']}/move", owner, {"lane_id": a["lanes"][2]})
    responses = {
        "workspaces": await core.ok("GET", "/api/workspaces", owner),
        "workspace": await core.ok("GET", f"/api/workspaces/{a['workspace']}", owner),
        "members": await core.ok("GET", f"/api/workspaces/{a['workspace']}/members", owner),
        "audit": await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit", owner),
        "projects": await core.ok("GET", f"/api/workspaces/{a['workspace']}/projects", owner),
        "project": await core.ok("GET", f"/api/projects/{a['project']}", owner),
        "document": await core.ok("GET", f"/api/projects/{a['project']}/documents/prd", owner),
        "versions": await core.ok("GET", f"/api/projects/{a['project']}/documents/prd/versions", owner),
        "version": await core.ok("GET", f"/api/projects/{a['project']}/documents/prd/versions/1", owner),
        "created": created,
        "moved": moved,
        "card": await core.ok("GET", f"/api/cards/{created['id']}", owner),
        "cards": await core.ok("GET", f"/api/projects/{a['project']}/cards", owner),
        "board": await core.ok("GET", f"/api/boards/{a['board']}", owner),
        "runs": await core.ok("GET", f"/api/cards/{a['card']}/runs", owner),
    }
    found = {name: list(timestamps(body)) for name, body in responses.items()}
    for name in responses:
        assert found[name], f"{name} has no timestamps"
        for key, value in found[name]:
            assert value is None or re.match(UTC_TEXT_PATTERN, value), (name, key, value)
    assert "finished_at" in {key for key, value in found["runs"] if value}
    listed = next(c for c in responses["cards"]["items"] if c["id"] == created["id"])
    on_board = next(c for lane in responses["board"]["lanes"] for c in lane["cards"] if c["id"] == created["id"])
    assert created["created_at"] == moved["created_at"] == listed["created_at"] == on_board["created_at"]
    assert moved["updated_at"] == listed["updated_at"] == on_board["updated_at"] == responses["card"]["updated_at"]
