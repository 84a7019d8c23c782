"""The gateway's own responses use the shared timestamp format, and its own inputs refuse NUL text."""

from __future__ import annotations

import re

import pytest
from agentworks_events import UTC_TEXT_PATTERN

from .conftest import PASSWORD, Fleet


def _utc(value: object) -> bool:
    return isinstance(value, str) and re.match(UTC_TEXT_PATTERN, value) is not None


async def test_sessions_keys_and_users_carry_utc_timestamps_with_z(fleet: Fleet) -> None:
    owner, user = await fleet.signed_up("owner")
    assert _utc(user["created_at"]), user
    workspace = (await owner.post("/api/workspaces", json={"name": "Acme"})).json()
    assert _utc(workspace["created_at"]), workspace
    [session] = (await owner.get("/api/auth/sessions")).json()
    assert _utc(session["created_at"]), session
    assert _utc(session["expires_at"]), session
    created = (await owner.post(f"/api/workspaces/{workspace['id']}/api-keys", json={"name": "CI"})).json()
    script = await fleet.browser()
    used = await script.get("/api/workspaces", headers={"authorization": f"Bearer {created['key']}"})
    assert used.status_code == 200
    revoked = await owner.delete(f"/api/workspaces/{workspace['id']}/api-keys/{created['id']}")
    assert revoked.status_code == 204
    [listed] = (await owner.get(f"/api/workspaces/{workspace['id']}/api-keys")).json()
    assert all(_utc(listed[k]) for k in ("created_at", "last_used_at", "revoked_at")), listed
    assert listed["created_at"] == created["created_at"]
    audit = (await owner.get(f"/api/workspaces/{workspace['id']}/audit")).json()["items"]
    assert audit
    assert all(_utc(entry["created_at"]) for entry in audit)


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada\u0000@example.com", "password": PASSWORD},
        {"email": "ada@example.com", "password": PASSWORD + "\u0000"},
        {"email": "ada@example.com", "password": PASSWORD, "name": "Ada\u0000"},
    ],
)
async def test_nul_in_the_gateways_own_inputs_is_a_422(fleet: Fleet, body: dict[str, str]) -> None:
    browser = await fleet.browser()
    response = await browser.post("/api/auth/signup", json=body)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["error"]["details"][0]["problem"]


async def test_nul_in_a_key_name_is_a_422(fleet: Fleet) -> None:
    owner, _ = await fleet.signed_up("owner")
    workspace = (await owner.post("/api/workspaces", json={"name": "Acme"})).json()
    response = await owner.post(f"/api/workspaces/{workspace['id']}/api-keys", json={"name": "C\u0000I"})
    assert response.status_code == 422, response.text
    assert (await owner.get(f"/api/workspaces/{workspace['id']}/api-keys")).json() == []
