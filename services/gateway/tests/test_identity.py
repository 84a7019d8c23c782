from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.identity.passwords import OWASP, HashCost
from agentworks_gateway.models import Session, User
from agentworks_gateway.ratelimit import service as ratelimit
from agentworks_platform.clock import utc_now
from pydantic import ValidationError
from sqlalchemy import select, update

from .conftest import ORIGIN, PASSWORD, Fleet


async def test_sign_up_sign_in_me_and_sign_out(fleet: Fleet) -> None:
    browser, user = await fleet.signed_up("grace")
    me = await browser.get("/api/me")
    assert me.status_code == 200
    assert me.json()["email"] == user["email"]
    assert (await browser.post("/api/auth/signout")).status_code == 204
    assert (await browser.get("/api/me")).status_code == 401
    again = await fleet.browser()
    wrong = await again.post("/api/auth/signin", json={"email": user["email"], "password": "not it at all"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    right = await again.post("/api/auth/signin", json={"email": user["email"].upper(), "password": PASSWORD})
    assert right.status_code == 200
    assert (await again.get("/api/me")).json()["id"] == user["id"]


async def test_duplicate_and_weak_sign_ups_are_refused(fleet: Fleet) -> None:
    _, user = await fleet.signed_up()
    other = await fleet.browser()
    taken = await other.post("/api/auth/signup", json={"email": user["email"], "password": PASSWORD})
    assert taken.status_code == 409
    weak = await other.post("/api/auth/signup", json={"email": "weak@example.com", "password": "short"})
    assert weak.status_code == 422
    bad_email = await other.post("/api/auth/signup", json={"email": "nope", "password": PASSWORD})
    assert bad_email.status_code == 422


async def test_production_cookie_flags_and_owasp_hashes(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    for cheap in ("AW_GATEWAY_PASSWORD_HASH_TIME_COST", "AW_GATEWAY_PASSWORD_HASH_MEMORY_KIB"):
        monkeypatch.delenv(cheap, raising=False)  # the tests' cheap hashes (conftest.py): production's own defaults
    prod = await fleet.gateway(environment="prod", allowed_origins=("https://app.agentworks.dev",))
    browser = await fleet.browser(prod)
    response = await browser.post(
        "/api/auth/signup",
        headers={"origin": "https://app.agentworks.dev"},
        json={"email": "prod@example.com", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-aw_session=")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax", "Secure", "Max-Age=604800"):
        assert flag in cookie
    assert "Domain" not in cookie
    assert await _stored_hash(fleet, "prod@example.com") == "$argon2id$v=19$m=19456,t=2,p=1"


async def _stored_hash(fleet: Fleet, email: str) -> str:
    """The argon2 parameters of the account's stored hash (``$argon2id$v=19$m=…,t=…,p=…``)."""
    async with fleet.gateways[0].state.ctx.db.transaction() as session:
        stored = (await session.execute(select(User.password_hash).where(User.email == email))).scalar_one()
    return str(stored).rsplit("$", 2)[0]


async def test_hashes_are_cheap_only_where_settings_ask_and_never_in_production(fleet: Fleet) -> None:
    browser = await fleet.browser()
    response = await browser.post("/api/auth/signup", json={"email": "cheap@example.com", "password": PASSWORD})
    assert response.status_code == 201, response.text
    assert await _stored_hash(fleet, "cheap@example.com") == "$argon2id$v=19$m=8,t=1,p=1"  # conftest.py's
    assert (await browser.post("/api/auth/signout")).status_code == 204
    signin = await browser.post("/api/auth/signin", json={"email": "cheap@example.com", "password": PASSWORD})
    assert signin.status_code == 200, signin.text
    assert HashCost(time_cost=2, memory_kib=19 * 1024) == OWASP
    for time_cost, memory_kib in ((1, 19 * 1024), (2, 19 * 1024 - 1)):
        with pytest.raises(ValidationError, match="OWASP"):
            GatewaySettings(
                environment="prod",
                database_url="postgresql+psycopg://u@h/db",
                password_hash_time_cost=time_cost,
                password_hash_memory_kib=memory_kib,
            )


async def test_dev_cookie_is_httponly_lax_and_not_secure(fleet: Fleet) -> None:
    browser = await fleet.browser()
    response = await browser.post("/api/auth/signup", json={"email": "dev@example.com", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("aw_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie


async def test_sessions_expire_and_can_be_revoked(fleet: Fleet) -> None:
    first, user = await fleet.signed_up()
    second = await fleet.browser()
    await second.post("/api/auth/signin", json={"email": user["email"], "password": PASSWORD})
    sessions = (await first.get("/api/auth/sessions")).json()
    assert len(sessions) == 2
    other = next(s for s in sessions if not s["current"])
    assert (await first.delete(f"/api/auth/sessions/{other['id']}")).status_code == 204
    assert (await second.get("/api/me")).status_code == 401
    db = fleet.gateways[0].state.ctx.db
    async with db.transaction() as session:
        await session.execute(update(Session).values(expires_at=utc_now() - timedelta(seconds=1)))
    assert (await first.get("/api/me")).status_code == 401


async def test_sign_in_is_throttled_per_account_and_per_address(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    window = 15 * 60
    mid_window = (int(time.time()) // window) * window + window / 2  # a slow run must not cross into the next one
    monkeypatch.setattr(ratelimit, "clock", lambda: float(mid_window))
    _, user = await fleet.signed_up()
    attacker = await fleet.browser(ip="203.0.113.50")
    for _ in range(5):
        failed = await attacker.post("/api/auth/signin", json={"email": user["email"], "password": "guess guess"})
        assert failed.status_code == 401
    blocked = await attacker.post("/api/auth/signin", json={"email": user["email"], "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "signin_throttled"
    assert int(blocked.headers["retry-after"]) > 0
    sprayer = await fleet.browser(ip="203.0.113.99")
    for n in range(20):
        await sprayer.post("/api/auth/signin", json={"email": f"victim{n}@example.com", "password": "guess guess"})
    sprayed = await sprayer.post("/api/auth/signin", json={"email": "fresh@example.com", "password": "x"})
    assert sprayed.status_code == 429
    elsewhere = await fleet.browser(ip="192.0.2.1")
    fine = await elsewhere.post("/api/auth/signin", json={"email": "fresh@example.com", "password": "guess guess"})
    assert fine.status_code == 401


async def test_sign_up_is_throttled_per_address_whether_or_not_the_email_is_taken(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, user = await fleet.signed_up()  # from the default address, which keeps its own count
    now = time.time()
    monkeypatch.setattr(ratelimit, "clock", lambda: now)
    prober = await fleet.browser(ip="203.0.113.77")
    for n in range(10):
        email = user["email"] if n % 2 else f"new{n}-{uuid.uuid4().hex[:6]}@example.com"
        attempt = await prober.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert attempt.status_code == (409 if n % 2 else 201), attempt.text
    for email in (user["email"], "unused@example.com"):
        blocked = await prober.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert (blocked.status_code, blocked.json()["error"]["code"]) == (429, "signup_throttled")
        assert 0 < int(blocked.headers["retry-after"]) <= 3600
    elsewhere = await fleet.browser(ip="192.0.2.1")
    fresh = await elsewhere.post("/api/auth/signup", json={"email": "else@example.com", "password": PASSWORD})
    assert fresh.status_code == 201
    monkeypatch.setattr(ratelimit, "clock", lambda: now + 3600)
    later = await prober.post("/api/auth/signup", json={"email": "later@example.com", "password": PASSWORD})
    assert later.status_code == 201, later.text


async def test_cross_site_state_changes_are_refused(fleet: Fleet) -> None:
    browser, _ = await fleet.signed_up()
    body = {"name": "Acme"}
    assert (
        await browser.post("/api/workspaces", json=body, headers={"origin": "https://evil.example"})
    ).status_code == 403
    cross = await browser.post("/api/workspaces", json=body, headers={"sec-fetch-site": "cross-site"})
    assert cross.status_code == 403
    assert cross.json()["error"]["code"] == "csrf_rejected"
    no_origin = await browser.post("/api/workspaces", json=body, headers={"origin": ""})
    assert no_origin.status_code == 403
    same = await browser.post("/api/workspaces", json=body, headers={"sec-fetch-site": "same-origin"})
    assert same.status_code == 201
    assert (await browser.get("/api/workspaces", headers={"origin": "https://evil.example"})).status_code == 200
    login_csrf = await (await fleet.browser()).post(
        "/api/auth/signin", headers={"origin": "https://evil.example"}, json={"email": "a@b.co", "password": "x"}
    )
    assert login_csrf.status_code == 403
    assert ORIGIN in fleet.gateways[0].state.ctx.settings.allowed_origins
