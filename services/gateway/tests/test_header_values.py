"""What a client writes into headers, or into its address, never breaks the call to the service behind."""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import PASSWORD, Fleet


@pytest.mark.parametrize("email", ["josé@example.com", "user@exämple.com", "用户@example.com"])
async def test_a_user_whose_address_is_not_ascii_reaches_every_service(fleet: Fleet, email: str) -> None:
    browser = await fleet.browser()
    signup = await browser.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    workspace = await browser.post("/api/workspaces", json={"name": "Ünïcode"})
    assert workspace.status_code == 201, workspace.text
    listed = await browser.get("/api/workspaces")
    assert (listed.status_code, [w["name"] for w in listed.json()]) == (200, ["Ünïcode"])
    members = (await browser.get(f"/api/workspaces/{workspace.json()['id']}/members")).json()
    assert [m["email"] for m in members] == [signup.json()["email"]]


@pytest.mark.parametrize("header", ["content-type", "if-none-match"])
async def test_a_forwarded_header_that_is_not_ascii_is_a_400(fleet: Fleet, header: str) -> None:
    owner, _ = await fleet.signed_up()
    value = "application/json\xff" if header == "content-type" else 'W/"\xe9"'
    response = await owner.request(
        "GET",
        "/api/workspaces",
        headers={header: value.encode("latin-1")},  # type: ignore[dict-item]
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_header")


async def test_a_request_id_that_is_not_a_plain_token_is_replaced(fleet: Fleet) -> None:
    owner, _ = await fleet.signed_up()
    for request_id in (b"caf\xc3\xa9", b"\xff\xfe", b"x" * 500):
        response = await owner.get("/api/workspaces", headers={"x-request-id": request_id})  # type: ignore[dict-item]
        assert response.status_code == 200, (request_id, response.text)


async def test_the_stripe_webhook_refuses_a_signature_that_is_not_ascii(fleet: Fleet) -> None:
    browser = await fleet.browser()
    response = await browser.post(
        "/webhooks/stripe",
        content=json.dumps({"id": str(uuid.uuid4())}),
        headers={"stripe-signature": "t=\xff".encode("latin-1")},  # type: ignore[dict-item]
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_header")
