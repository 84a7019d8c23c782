from __future__ import annotations

import time

import httpx
import pytest
from agentworks_gateway.app import longest_window
from agentworks_gateway.models import ApiKey, RateCounter
from agentworks_gateway.ratelimit import service as ratelimit
from sqlalchemy import select

from .conftest import Fleet


async def _workspace(browser: httpx.AsyncClient, name: str = "Acme") -> str:
    response = await browser.post("/api/workspaces", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_the_gateway_forwards_to_core_with_the_verified_principal(fleet: Fleet) -> None:
    ada, _ = await fleet.signed_up("ada")
    workspace = await _workspace(ada)
    project = (await ada.post(f"/api/workspaces/{workspace}/projects", json={"name": "Shop"})).json()
    card = (await ada.post(f"/api/projects/{project['id']}/cards", json={"title": "Checkout"})).json()
    read = await ada.get(f"/api/boards/{project['board_id']}")
    board, etag = read.json(), read.headers["etag"]
    assert read.headers["cache-control"] == "private, no-cache"
    unchanged = await ada.get(f"/api/boards/{project['board_id']}", headers={"if-none-match": etag})
    assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", etag)
    moved = await ada.put(f"/api/cards/{card['id']}/move", json={"lane_id": board["lanes"][1]["id"]})
    assert moved.status_code == 200
    assert moved.json()["lane_id"] == board["lanes"][1]["id"]
    changed = await ada.get(f"/api/boards/{project['board_id']}", headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert [c["id"] for c in changed.json()["lanes"][1]["cards"]] == [card["id"]]
    bob, _ = await fleet.signed_up("bob")
    assert (await bob.get(f"/api/cards/{card['id']}")).status_code == 404
    assert (await bob.get("/api/workspaces")).json() == []
    anonymous = await fleet.browser()
    refused = await anonymous.get("/api/workspaces")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"


async def test_api_keys_are_shown_once_scoped_and_revocable_at_once(fleet: Fleet) -> None:
    owner, _ = await fleet.signed_up("owner")
    mine, other = await _workspace(owner, "Mine"), await _workspace(owner, "Other")
    created = await owner.post(f"/api/workspaces/{mine}/api-keys", json={"name": "CI"})
    assert created.status_code == 201
    secret = created.json()["key"]
    assert secret.startswith(created.json()["prefix"] + "_")
    listed = (await owner.get(f"/api/workspaces/{mine}/api-keys")).json()
    assert "key" not in listed[0]
    assert listed[0]["last_used_at"] is None
    async with fleet.gateways[0].state.ctx.db.transaction() as session:
        stored = (await session.scalars(select(ApiKey))).one()
    assert secret not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64

    script = await fleet.browser()
    auth = {"authorization": f"Bearer {secret}", "origin": ""}
    visible = await script.get("/api/workspaces", headers=auth)
    assert [w["id"] for w in visible.json()] == [mine]
    assert (await script.get(f"/api/workspaces/{other}", headers=auth)).status_code == 404
    assert (await script.post(f"/api/workspaces/{mine}/projects", headers=auth, json={"name": "P"})).status_code == 201
    assert (await script.post(f"/api/workspaces/{mine}/api-keys", headers=auth, json={"name": "x"})).status_code == 403
    listed = (await owner.get(f"/api/workspaces/{mine}/api-keys")).json()
    assert listed[0]["last_used_at"] is not None

    assert (await owner.delete(f"/api/workspaces/{mine}/api-keys/{listed[0]['id']}")).status_code == 204
    revoked = await script.get("/api/workspaces", headers=auth)
    assert revoked.status_code == 401
    assert (await script.get("/api/workspaces", headers={"authorization": "Bearer aw_nope_nope"})).status_code == 401
    audit = (await owner.get(f"/api/workspaces/{mine}/audit")).json()["items"]
    actions = [e["action"] for e in audit]
    assert actions[:3] == ["api_key.revoked", "project.created", "api_key.created"]
    assert audit[0]["after"]["prefix"] == created.json()["prefix"]


async def _joined(fleet: Fleet, owner: httpx.AsyncClient, workspace: str, role: str) -> tuple[httpx.AsyncClient, str]:
    person, user = await fleet.signed_up(role)
    invite = {"email": user["email"], "role": role}
    invited = (await owner.post(f"/api/workspaces/{workspace}/members", json=invite)).json()
    accepted = await person.post("/api/invitations/accept", json={"token": invited["invitation"]["token"]})
    assert accepted.status_code == 200, accepted.text
    return person, str(user["email"])


async def test_every_member_manages_their_own_keys_and_owners_everyones(fleet: Fleet) -> None:
    """The key routes' authorization matrix: who creates, lists and revokes which keys, by role and workspace."""
    owner, _ = await fleet.signed_up("owner")
    workspace = await _workspace(owner)
    keys = f"/api/workspaces/{workspace}/api-keys"
    member, member_email = await _joined(fleet, owner, workspace, "member")
    viewer, viewer_email = await _joined(fleet, owner, workspace, "viewer")
    made = {}
    for name, browser in (("owner", owner), ("member", member), ("viewer", viewer)):
        created = await browser.post(keys, json={"name": f"{name}'s laptop"})
        assert created.status_code == 201, created.text
        made[name] = created.json()
    assert made["viewer"]["created_by_email"] == viewer_email

    everyone = (await owner.get(keys)).json()
    assert sorted((k["name"], k["created_by_email"]) for k in everyone) == sorted([
        ("owner's laptop", everyone[-1]["created_by_email"]), ("member's laptop", member_email),
        ("viewer's laptop", viewer_email),
    ])  # fmt: skip
    assert [k["id"] for k in (await member.get(keys)).json()] == [made["member"]["id"]]
    assert [k["id"] for k in (await viewer.get(keys)).json()] == [made["viewer"]["id"]]

    # Nobody but an owner revokes another's key; it is not even found.
    refused = await viewer.delete(f"{keys}/{made['member']['id']}")
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")
    assert (await member.delete(f"{keys}/{made['owner']['id']}")).status_code == 404
    assert (await member.delete(f"{keys}/{made['member']['id']}")).status_code == 204
    assert (await owner.delete(f"{keys}/{made['viewer']['id']}")).status_code == 204
    assert [k["revoked_at"] is not None for k in (await viewer.get(keys)).json()] == [True]

    # A key acts as its creator with their role now: a viewer's reads but never writes through the API.
    again = (await viewer.post(keys, json={"name": "reader"})).json()
    script = await fleet.browser()
    auth = {"authorization": f"Bearer {again['key']}", "origin": ""}
    assert (await script.get(f"/api/workspaces/{workspace}/projects", headers=auth)).status_code == 200
    wrote = await script.post(f"/api/workspaces/{workspace}/projects", headers=auth, json={"name": "P"})
    assert (wrote.status_code, wrote.json()["error"]["code"]) == (403, "forbidden")
    assert (await script.post(keys, headers=auth, json={"name": "x"})).status_code == 403  # keys never mint keys
    assert (await script.get(keys, headers=auth)).status_code == 403

    stranger, _ = await fleet.signed_up("stranger")
    for method, path in (("POST", keys), ("GET", keys), ("DELETE", f"{keys}/{again['id']}")):
        answered = await stranger.request(method, path, json={"name": "x"} if method == "POST" else None)
        assert (answered.status_code, answered.json()["error"]["code"]) == (404, "not_found"), (method, path)


async def test_a_person_holds_a_bounded_number_of_keys(fleet: Fleet) -> None:
    owner, _ = await fleet.signed_up("owner")
    workspace = await _workspace(owner)
    viewer, _ = await _joined(fleet, owner, workspace, "viewer")
    keys = f"/api/workspaces/{workspace}/api-keys"
    for number in range(10):
        assert (await viewer.post(keys, json={"name": f"k{number}"})).status_code == 201
    refused = await viewer.post(keys, json={"name": "one more"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "too_many_keys")
    assert (await owner.post(keys, json={"name": "the owner's own"})).status_code == 201


async def test_hourly_rate_limit_is_shared_by_every_gateway_instance(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    mid_hour = (int(time.time()) // 3600) * 3600 + 1800  # a slow run must not cross into the next window
    monkeypatch.setattr(ratelimit, "clock", lambda: float(mid_hour))
    limit = 40  # the production default is 1000; the rule is the same at any limit
    first_instance, second_instance = [await fleet.gateway(requests_per_hour=limit) for _ in range(2)]
    first, _ = await fleet.signed_up(app=first_instance)
    second = await fleet.browser(second_instance)
    second.cookies = first.cookies
    response = await first.get("/api/me")
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == str(limit - 1)
    reset = int(response.headers["x-ratelimit-reset"])
    for n in range(2, limit + 1):
        response = await (first if n % 2 else second).get("/api/me")
        assert response.status_code == 200, n
    assert response.headers["x-ratelimit-remaining"] == "0"
    limited = await second.get("/api/me")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    assert int(limited.headers["x-ratelimit-reset"]) == reset
    assert (await first.get("/api/workspaces")).status_code == 429
    other, _ = await fleet.signed_up("other", app=first_instance)
    assert (await other.get("/api/me")).status_code == 200


async def test_oversized_bodies_and_unknown_routes_use_the_envelope(fleet: Fleet) -> None:
    browser, _ = await fleet.signed_up()
    huge = await browser.post(
        "/api/workspaces", content=b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "payload_too_large"
    missing = await browser.get("/api/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_api_docs_merge_every_service(fleet: Fleet) -> None:
    browser = await fleet.browser()
    document = (await browser.get("/api/openapi.json")).json()
    for path in (
        "/api/auth/signup",
        "/api/me",
        "/api/workspaces/{workspace_id}/api-keys",
        "/api/workspaces/{workspace_id}/projects",
        "/api/cards/{card_id}/move",
    ):
        assert path in document["paths"], path
    assert not any(p.startswith("/_events") or p.startswith("/internal") for p in document["paths"])
    docs = await browser.get("/api/docs")
    assert docs.status_code == 200
    assert "/api/openapi.json" in docs.text


async def test_counters_of_ended_windows_are_swept_and_live_ones_kept(fleet: Fleet) -> None:
    gateway = fleet.gateways[0]
    db = gateway.state.ctx.db
    now = float((int(time.time()) // 3600) * 3600 + 1800)
    longest = longest_window(gateway.state.ctx.settings)
    async with db.transaction() as session:
        await ratelimit.hit(session, "user:a-day-ago", 10, 3600, now - 86400)
        await ratelimit.hit(session, "user:last-hour", 10, 3600, now - 3600)
        await ratelimit.hit(session, "user:this-hour", 10, 3600, now)
        await ratelimit.hit(session, "rpm:this-minute", 10, 60, now)
    async with db.transaction() as session:
        assert await ratelimit.prune(session, longest, now) == 2
    async with db.transaction() as session:
        buckets = set(await session.scalars(select(RateCounter.bucket)))
        assert (await ratelimit.peek(session, "user:this-hour", 10, 3600, now)).used == 1
    assert buckets == {"user:this-hour", "rpm:this-minute"}
