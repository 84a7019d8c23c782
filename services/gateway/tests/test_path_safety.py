"""No public request reaches a service's internal routes, whatever the spelling of its path."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from agentworks_gateway.config import OPENAPI_DIR
from agentworks_gateway.paths import PathRefused, checked_path
from agentworks_gateway.routes import load_documents
from fastapi import FastAPI

from .conftest import ORIGIN, Fleet, Recorder, send_raw

UPSTREAMS = ("core", "orchestrator", "billing", "log-stream", "provider-router")
PARAMETER = re.compile(r"\{[^}]+\}")
NOT_PUBLIC = ("/internal/", "/_events/", "/v1/")


def _private_operations() -> list[tuple[str, str]]:
    """(method, path without its leading slash) of every internal, push and provider route, parameters filled."""
    return sorted(
        {
            (method.upper(), PARAMETER.sub(lambda _: str(uuid.uuid4()), template).lstrip("/"))
            for document in load_documents(OPENAPI_DIR).values()
            for template, operations in document["paths"].items()
            if template.startswith(NOT_PUBLIC)
            for method in operations
        }
    )


def _spellings(target: str) -> list[str]:
    """Ways of writing ``/<target>`` so that some hop might read it as an internal route."""
    card = f"/api/cards/{uuid.uuid4()}"
    first, _, rest = target.partition("/")
    encoded = target.replace("/", "%2F")
    return [
        f"/{target}",
        f"//{target}",
        f"/api/{target}",
        f"/API/{target}",
        f"/api/{first.capitalize()}/{rest}",
        f"/{first.upper()}/{rest}",
        f"/api/{first}./{rest}",
        f"/api/../{target}",
        f"/api/./../{target}",
        f"/api//../{target}",
        f"/api/%2e%2e/{target}",
        f"/api/{encoded}",
        f"/api%2F..%2F{target}",
        f"{card}/../../../{target}",
        f"{card}/..%2F..%2F..%2F{target}",
        f"{card}/..%2f..%2f..%2f{target}",
        f"{card}/%2e%2e%2f%2e%2e%2f%2e%2e%2f{target}",
        f"{card}/%2E%2e/%2e%2E/.%2e/{target}",
        f"{card}/.%2E/%2e./../{target}",
        f"{card}/..%252F..%252F..%252F{target}",
        f"{card}/%252e%252e/%252e%252e/%252e%252e/{target}",
        f"{card}/..\\..\\..\\{target}",
        f"{card}/..%5C..%5C..%5C{target}",
        f"{card}/..%5c..%5c..%5c{target}",
        f"{card}/..;/..;/..;/{target}",
        f"/api;/../{target}",
        f"/api/..;/{target}",
        f"{card}/.../.../.../{target}",
        f"{card}/..../..../..../{target}",
        f"{card}/..%00/..%00/..%00/{target}",
        f"{card}/%09/../../../{target}",
        f"/api/cards%0A/../../{target}",
        f"{card}/..%7F/..%7F/..%7F/{target}",
        f"{card}/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/{target}",
        f"{card}/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/{target}",
        f"{card}/..%2F..%2F..%2F{target}%3Fx=1",
    ]


async def _recorded(fleet: Fleet, tmp_path: Path) -> tuple[FastAPI, dict[str, str], dict[str, Recorder]]:
    recorders = {name: Recorder(name) for name in UPSTREAMS}
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text('<!doctype html><div id="root"></div>')
    app = await fleet.gateway(transports=dict(recorders), web_dist=dist)
    browser = await fleet.browser(app)
    signed_up = await browser.post(
        "/api/auth/signup", json={"email": f"m-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse battery"}
    )
    assert signed_up.status_code == 201, signed_up.text
    headers = {"cookie": f"aw_session={browser.cookies['aw_session']}", "origin": ORIGIN}
    return app, headers, recorders


async def test_no_internal_route_is_reachable_in_any_spelling(fleet: Fleet, tmp_path: Path) -> None:
    app, headers, recorders = await _recorded(fleet, tmp_path)
    operations = _private_operations()
    assert {path.split("/")[0] for _, path in operations} == {"internal", "_events", "v1"}
    tried = 0
    for method, target in operations:
        for spelling in _spellings(target):
            response = await send_raw(app, method, spelling.encode(), headers)
            tried += 1
            assert response.status < 500, (method, spelling, response.body)
            assert b'"service"' not in response.body, (method, spelling)
            if spelling.startswith("/api/"):
                assert response.status in (400, 404, 405), (method, spelling, response.status)
    assert tried > 500
    assert {name: r.seen for name, r in recorders.items()} == {name: [] for name in UPSTREAMS}


async def test_an_unsafe_path_is_a_400_envelope_never_forwarded_and_never_a_500(fleet: Fleet, tmp_path: Path) -> None:
    app, headers, recorders = await _recorded(fleet, tmp_path)
    card = uuid.uuid4()
    for spelling in (
        f"/api/cards/{card}%09",
        f"/api/cards/%0A{card}",
        f"/api/cards/{card}/..%2F{card}",
        f"/api/cards/{card}%2F",
        f"/api/cards/{card}/%2e",
        f"/api/cards/{card}/.",
        f"/api/cards/{card}\\",
        f"/api/cards//{card}",
        f"/api/cards/{card}%25",
        f"/api/cards/{card}%zz",
        "/..%2Fsecret.txt",
    ):
        response = await send_raw(app, "GET", spelling.encode(), headers)
        assert (response.status, response.json()["error"]["code"]) == (400, "invalid_path"), spelling
    assert all(r.seen == [] for r in recorders.values())


async def test_a_user_cannot_walk_into_another_workspaces_run_context_or_billing_plan(fleet: Fleet) -> None:
    core = Recorder("core", httpx.ASGITransport(app=fleet.core_app))
    billing = Recorder("billing")
    app = await fleet.gateway(transports={"core": core, "billing": billing})
    ada = await fleet.browser(app)
    await ada.post("/api/auth/signup", json={"email": "ada-ctx@example.com", "password": "correct horse battery"})
    workspace = (await ada.post("/api/workspaces", json={"name": "Acme"})).json()["id"]
    project = (await ada.post(f"/api/workspaces/{workspace}/projects", json={"name": "Shop"})).json()["id"]
    bob = await fleet.browser(app, ip="203.0.113.8")
    await bob.post("/api/auth/signup", json={"email": "bob-ctx@example.com", "password": "correct horse battery"})
    core.seen.clear()
    up = "..%2F..%2F..%2F"
    context = await bob.get(f"/api/cards/{uuid.uuid4()}/{up}internal/projects/{project}/run-context")
    assert (context.status_code, context.json()["error"]["code"]) == (400, "invalid_path")
    plan = await bob.put(
        f"/api/workspaces/{workspace}/billing/{up}internal/workspaces/{workspace}/plan",
        json={"markup": "5", "increment": "0.01"},
    )
    assert plan.status_code == 400
    audit = await bob.post(f"/api/projects/{project}/{up}internal/workspaces/{workspace}/audit", json={})
    assert audit.status_code == 400
    assert core.seen == []
    assert billing.seen == []


async def test_a_websocket_with_an_unsafe_path_is_closed_before_anything_else(fleet: Fleet) -> None:
    app = fleet.gateways[0]
    messages: list[dict[str, Any]] = []
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "server": ("localhost", 8080),
        "client": ("198.51.100.7", 5000),
        "root_path": "",
        "path": unquote("/api/cards/x/..%2F..%2Finternal/terminal"),
        "raw_path": b"/api/cards/x/..%2F..%2Finternal/terminal",
        "query_string": b"",
        "headers": [(b"origin", ORIGIN.encode())],
        "subprotocols": [],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    assert messages == [{"type": "websocket.close", "code": 1008, "reason": "invalid path"}]


@pytest.mark.parametrize(
    ("raw", "segments"),
    [
        (b"/", ("",)),
        (b"/api/workspaces/", ("api", "workspaces", "")),
        (b"/api/workspaces/a%20b/charges.csv", ("api", "workspaces", "a b", "charges.csv")),
        (b"/api/projects/p/documents/caf%C3%A9", ("api", "projects", "p", "documents", "café")),
        (b"/api/x;y/z", ("api", "x;y", "z")),
    ],
)
def test_a_safe_path_keeps_its_raw_form_and_decoded_segments(raw: bytes, segments: tuple[str, ...]) -> None:
    safe = checked_path(raw)
    assert safe.segments == segments
    assert safe.raw == raw.decode()


@pytest.mark.parametrize(
    "raw",
    [b"api/x", b"/api/\xff", b"/api/a b", b"/api/%c3%28", b"/api/%E2%80%8F%C2%85", b"/api/..", b"/api/a/..%2e"],
)
def test_an_unsafe_path_is_refused_by_the_check(raw: bytes) -> None:
    with pytest.raises(PathRefused):
        checked_path(raw)
