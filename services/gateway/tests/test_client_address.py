"""The client's address is what the deployment's own proxies saw, never what the client wrote."""

from __future__ import annotations

from pathlib import Path

import hcl2
import httpx
import pytest
import uvicorn
from agentworks_gateway.security import client_ip
from agentworks_platform.serve import server_config, uvicorn_flags
from starlette.datastructures import Headers

from .conftest import ORIGIN, PASSWORD, Fleet

CATALOG = Path(__file__).resolve().parents[3] / "terraform" / "modules" / "catalog" / "main.tf"
CLOUD_RUN_FRONT_END = "169.254.1.1"


def _deployed_settings() -> dict[str, str]:
    """The gateway's literal settings in the production deployment (terraform/modules/catalog)."""
    with CATALOG.open() as handle:
        blocks = hcl2.load(handle)["locals"]
    settings: dict[str, str] = next(b["definitions"] for b in blocks if "definitions" in b)["gateway"]["settings"]
    literals = {key: value.strip('"') for key, value in settings.items()}
    return {key.lower(): value for key, value in literals.items() if not value.startswith("${")}


async def test_behind_cloud_run_spoofed_forwarded_for_neither_escapes_the_throttle_nor_forges_the_address(
    fleet: Fleet,
) -> None:
    gateway = await fleet.gateway(**_deployed_settings())
    attacker = await fleet.browser(gateway, ip=CLOUD_RUN_FRONT_END)
    for n in range(20):  # the front end appends the address it saw; everything before it is the attacker's
        spoofed = {"x-forwarded-for": f"10.0.{n}.1, 192.0.2.{n}, 203.0.113.66"}
        await attacker.post("/api/auth/signin", headers=spoofed, json={"email": f"v{n}@example.com", "password": "x"})
    blocked = await attacker.post(
        "/api/auth/signin",
        headers={"x-forwarded-for": "198.18.0.1, 203.0.113.66"},
        json={"email": "fresh@example.com", "password": "x"},
    )
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (429, "signin_throttled")
    elsewhere = await fleet.browser(gateway, ip=CLOUD_RUN_FRONT_END)
    signup = await elsewhere.post(
        "/api/auth/signup",
        headers={"x-forwarded-for": "203.0.113.66, 192.0.2.44"},
        json={"email": "real@example.com", "password": PASSWORD},
    )
    assert signup.status_code == 201
    sessions = (await elsewhere.get("/api/auth/sessions", headers={"x-forwarded-for": "192.0.2.44"})).json()
    assert [s["client_ip"] for s in sessions] == ["192.0.2.44"]


async def test_uvicorn_as_configured_keeps_the_peer_address_whatever_the_headers_say(fleet: Fleet) -> None:
    options = server_config("agentworks_gateway")
    config = uvicorn.Config(
        fleet.gateways[0],
        proxy_headers=options.proxy_headers,
        forwarded_allow_ips=options.forwarded_allow_ips,
        log_config=None,
    )
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"origin": ORIGIN}) as browser:
        spoofed = {"x-forwarded-for": "192.0.2.200", "x-real-ip": "192.0.2.201", "forwarded": "for=192.0.2.202"}
        signup = await browser.post(
            "/api/auth/signup", headers=spoofed, json={"email": "local@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201
        sessions = (await browser.get("/api/auth/sessions", headers=spoofed)).json()
    assert [s["client_ip"] for s in sessions] == ["127.0.0.1"]
    assert "--no-proxy-headers" in uvicorn_flags()


@pytest.mark.parametrize(
    ("values", "hops", "expected"),
    [
        ([], 0, "10.1.1.1"),
        (["192.0.2.9"], 0, "10.1.1.1"),
        (["192.0.2.9"], 1, "192.0.2.9"),
        (["6.6.6.6, 192.0.2.9"], 1, "192.0.2.9"),
        (["6.6.6.6", "192.0.2.9"], 1, "192.0.2.9"),
        (["6.6.6.6, 192.0.2.9, 10.9.9.9"], 2, "192.0.2.9"),
        (["192.0.2.9"], 2, "10.1.1.1"),
        ([], 1, "10.1.1.1"),
        (["6.6.6.6, not-an-address"], 1, "10.1.1.1"),
        (["2001:db8::1"], 1, "2001:db8::1"),
        (["2001:db8::1%zz" + "z" * 100], 1, "2001:db8::1"),
        (["2001:DB8:0:0:0:0:0:1"], 1, "2001:db8::1"),
        (["::ffff:192.0.2.7"], 1, "192.0.2.7"),
    ],
)
def test_the_client_is_the_entry_the_outermost_trusted_proxy_appended(
    values: list[str], hops: int, expected: str
) -> None:
    headers = Headers(raw=[(b"x-forwarded-for", value.encode()) for value in values])
    assert client_ip(headers, "10.1.1.1", hops) == expected
