"""Every public route × role × own/other workspace → the expected status, driven by ``authz_matrix``."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from agentworks_core.app import ROUTERS

from .authz_matrix import BY_TOKEN, MATRIX, ROLE_PERMISSIONS, UNSCOPED, Route
from .conftest import Core, User, World


def _fill(template: Any, ids: dict[str, Any]) -> Any:
    values = {**ids, "lane0": ids["lanes"][0], "lane1": ids["lanes"][1], "lanes_reversed": list(reversed(ids["lanes"]))}
    if isinstance(template, str):
        match = re.fullmatch(r"\{(\w+)\}", template)
        if match:
            return values[match.group(1)]
        return template.format(**values) if "{" in template else template
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


def test_matrix_covers_every_public_route() -> None:
    declared = {
        (m, r.path)
        for router in ROUTERS
        for r in router.routes
        if r.path.startswith("/api")  # type: ignore[attr-defined]
        for m in r.methods
    }  # type: ignore[attr-defined]
    covered = (
        {
            (r.method, r.path.replace("{workspace}", "{workspace_id}").replace("{project}", "{project_id}"))
            for r in MATRIX
        }
        | set(UNSCOPED)
        | set(BY_TOKEN)
    )
    ids = r"card|board|lane0|viewer_member|pending_member|run|comment|notification|label"
    normalised = {(m, re.sub(rf"\{{({ids})\}}", "{x}", p)) for m, p in covered}
    params = (
        r"card_id|board_id|lane_id|member_id|agent|kind|name|version|run_id|image_id|comment_id|notification_id"
        r"|label_id|human_id|attachment_id"
    )
    expected = {(m, re.sub(rf"\{{({params})\}}", "{x}", p)) for m, p in declared}
    normalised = {
        (
            m,
            p.replace("/agents/prd", "/agents/{x}")
            .replace("/documents/prd", "/documents/{x}")
            .replace("/versions/1", "/versions/{x}")
            .replace("/cards/SHOP-1", "/cards/{x}")
            .removesuffix("?filename=notes.txt"),
        )
        for m, p in normalised
    }
    assert expected == normalised


async def _with_conversation(core: Core, world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """The world's ids and, in each workspace, a comment on its card by a person who may edit it (the member in A,
    the owner in B); A's comment mentions the viewer, whose notification it is."""
    own, other = dict(world.ids["a"]), dict(world.ids["b"])
    viewer = "@" + world.viewer.email.partition("@")[0]
    posted = await core.ok("POST", f"/api/cards/{own['card']}/comments", world.member, {"body": f"{viewer} look"})
    own["comment"] = posted["id"]
    inbox = await core.ok("GET", f"/api/workspaces/{own['workspace']}/notifications", world.viewer)
    own["notification"] = inbox["notifications"][0]["id"]
    posted = await core.ok("POST", f"/api/cards/{other['card']}/comments", world.stranger, {"body": "Mine"})
    other["comment"], other["notification"] = posted["id"], str(uuid.uuid4())
    return own, other


@pytest.mark.parametrize("route", MATRIX, ids=lambda r: f"{r.method} {r.path}")
async def test_route_enforces_roles_and_tenancy(core: Core, route: Route) -> None:
    world: World = await core.world()
    own, other = await _with_conversation(core, world)
    path, body = _fill(route.path, own), _fill(route.body, own)

    anonymous = await core.call(route.method, path, None, body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"]["code"] == "unauthenticated"

    foreign = await core.call(route.method, _fill(route.path, other), world.owner, _fill(route.body, other))
    assert foreign.status_code == 404, (foreign.status_code, foreign.text)
    assert json.dumps(other["workspace"]) not in foreign.text or route.path.startswith("/api/workspaces")

    key_elsewhere = await core.call(route.method, path, world.owner, body, key=other["workspace"])
    assert key_elsewhere.status_code == 404

    allowed = [role for role in ("viewer", "member", "owner") if route.permission in ROLE_PERMISSIONS[role]]
    for role in ("viewer", "member", "owner"):
        if role not in allowed:
            refused = await core.call(route.method, path, getattr(world, role), body)
            assert refused.status_code == 403, (role, refused.text)
            assert refused.json()["error"]["code"] == "forbidden"
    granted = await core.call(route.method, path, getattr(world, allowed[0]), body)
    assert granted.status_code == route.success, (allowed[0], granted.text)


async def test_unscoped_routes_need_a_signed_in_user(core: Core) -> None:
    for method, path in UNSCOPED:
        body = {"name": "Mine"} if method == "POST" else None
        assert (await core.call(method, path, None, body)).status_code == 401
        assert (await core.call(method, path, User.new("someone"), body)).status_code in (200, 201)


async def test_an_api_key_cannot_create_a_workspace_it_could_not_reach(core: Core) -> None:
    world = await core.world()
    key = uuid.UUID(world.ids["a"]["workspace"])
    refused = await core.call("POST", "/api/workspaces", world.owner, {"name": "Elsewhere"}, key=key)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    listed = await core.ok("GET", "/api/workspaces", world.owner)
    assert [w["name"] for w in listed] == ["Workspace a"]


async def test_service_token_is_required_even_with_principal_headers(core: Core) -> None:
    world = await core.world()
    headers = core.headers(world.owner)
    headers["authorization"] = "Bearer forged.token.value"
    response = await core.client.get(f"/api/workspaces/{world.ids['a']['workspace']}", headers=headers)
    assert response.status_code == 401
