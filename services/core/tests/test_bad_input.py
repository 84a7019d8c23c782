"""Bad input gets a 4xx envelope, never a 500."""

from __future__ import annotations

import pytest
from agentworks_core.agents.registry import BY_KEY

from .conftest import Core


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/workspaces", {"name": ""}, 422),
        ("POST", "/api/workspaces", {"name": "\n"}, 422),
        ("POST", "/api/workspaces", {"name": "\x1c"}, 422),
        ("POST", "/api/projects/{project}/cards", {"title": "\u3000"}, 422),
        ("POST", "/api/workspaces", {"name": "x" * 101}, 422),
        ("POST", "/api/workspaces", {"name": 7}, 422),
        ("POST", "/api/workspaces", {"name": "ok", "extra": True}, 422),
        ("POST", "/api/workspaces", ["not", "an", "object"], 422),
        ("GET", "/api/workspaces/not-a-uuid", None, 422),
        ("GET", "/api/workspaces/00000000-0000-0000-0000-000000000000", None, 404),
        ("GET", "/api/cards/00000000-0000-0000-0000-000000000000", None, 404),
        ("GET", "/api/projects/{project}/cards?cursor=garbage!!", None, 400),
        ("GET", "/api/projects/{project}/cards?cursor=WyJ4Il0", None, 400),
        ("GET", "/api/projects/{project}/cards?limit=0", None, 422),
        ("GET", "/api/projects/{project}/cards?limit=100000", None, 422),
        ("POST", "/api/projects/{project}/cards", {"title": "t" * 201}, 422),
        ("POST", "/api/projects/{project}/cards", {"title": "ok", "card_type": "saga"}, 422),
        ("POST", "/api/projects/{project}/cards", {"title": "ok", "lane_id": "{other_lane}"}, 422),
        ("POST", "/api/projects/{project}/cards", {"title": "ok", "parent_id": "{other_card}"}, 422),
        ("POST", "/api/projects/{project}/cards", {"title": "ok", "assignee_id": "{random}"}, 422),
        ("PUT", "/api/cards/{card}/move", {"lane_id": "{random}"}, 422),
        ("PUT", "/api/cards/{card}/move", {"lane_id": "{lane}", "position": -1}, 422),
        ("PATCH", "/api/cards/{card}", {"parent_id": "{card}"}, 422),
        ("PATCH", "/api/lanes/{lane}", {"wip_limit": 0}, 422),
        ("PUT", "/api/boards/{board}/lanes/order", {"lane_ids": ["{lane}"]}, 422),
        ("PUT", "/api/projects/{project}/documents/Bad-Kind", {"content": "x"}, 422),
        ("PUT", "/api/projects/{project}/documents/prd", {"content": "x" * 1_000_001}, 422),
        ("GET", "/api/projects/{project}/documents/prd/versions/0", None, 422),
        ("POST", "/api/workspaces/{workspace}/members", {"email": "not-an-email"}, 422),
        ("POST", "/api/workspaces/{workspace}/members", {"email": "a@b.co", "role": "admin"}, 422),
        ("POST", "/api/workspaces/{workspace}/members", {"email": "a@localhost"}, 422),
        ("POST", "/api/cards/{card}/agents/nobody/run", {}, 404),
    ],
)
async def test_bad_input_is_a_4xx_envelope(core: Core, method: str, path: str, body: object, status: int) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    values = {
        "project": a["project"],
        "card": a["card"],
        "lane": a["lanes"][1],
        "board": a["board"],
        "workspace": a["workspace"],
        "other_lane": b["lanes"][0],
        "other_card": b["card"],
        "random": "9b2f6f4e-1d9e-4c55-9a7e-1f1f1f1f1f1f",
    }

    def fill(value: object) -> object:
        if isinstance(value, str):
            return value.format(**values) if "{" in value else value
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    response = await core.call(method, fill(path), world.owner, fill(body))  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"]
    assert error["message"]


async def test_an_address_at_a_test_domain_can_be_invited(core: Core) -> None:
    world = await core.world()
    path = f"/api/workspaces/{world.ids['a']['workspace']}/members"
    invited = await core.call("POST", path, world.owner, {"email": "F32+@CV.test"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["email"].endswith("@cv.test")


async def test_the_document_lists_the_agents_a_path_may_name(core: Core) -> None:
    await core.world()
    document = core.app.openapi()
    for path, method in (
        ("/api/projects/{project_id}/agents/{agent}", "put"),
        ("/api/cards/{card_id}/agents/{agent}/run", "post"),
    ):
        [agent] = [p for p in document["paths"][path][method]["parameters"] if p["name"] == "agent"]
        assert agent["schema"]["enum"] == list(BY_KEY), path
