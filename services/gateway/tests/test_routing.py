"""The gateway routes by the services' published OpenAPI documents: every public operation reaches its owner,
anything else stays in the gateway."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_gateway.config import OPENAPI_DIR
from agentworks_gateway.proxy import STREAMED
from agentworks_gateway.routes import PublicRoute, RouteTable, load_documents

from .conftest import Fleet, Recorder

UPSTREAMS = ("core", "orchestrator", "billing", "log-stream")
PARAMETER = re.compile(r"\{[^}]+\}")


def _operations() -> list[tuple[str, str, str]]:
    """(owner, method, template) of every public operation the services (not the gateway itself) publish."""
    return [
        (owner, method.upper(), template)
        for owner, document in load_documents(OPENAPI_DIR).items()
        if owner != "gateway"
        for template, operations in document["paths"].items()
        if template.startswith("/api/")
        for method in operations
    ]


async def _recorded_gateway(fleet: Fleet, **overrides: Any) -> tuple[httpx.AsyncClient, dict[str, Recorder]]:
    recorders = {name: Recorder(name) for name in UPSTREAMS}
    app = await fleet.gateway(transports=dict(recorders), **overrides)
    browser = await fleet.browser(app)
    signed_up = await browser.post(
        "/api/auth/signup", json={"email": f"r-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse battery"}
    )
    assert signed_up.status_code == 201, signed_up.text
    return browser, recorders


async def test_every_public_operation_of_every_service_reaches_its_owner_at_the_same_path(fleet: Fleet) -> None:
    browser, recorders = await _recorded_gateway(fleet)
    operations = _operations()
    assert {owner for owner, _, _ in operations} == set(UPSTREAMS)
    for owner, method, template in operations:
        path = PARAMETER.sub(lambda _: str(uuid.uuid4()), template)
        response = await browser.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert response.status_code == 200, (method, template, response.text)
        assert json.loads(response.text) == {"service": owner, "method": method, "path": path}, (method, template)
    assert sum(len(r.seen) for r in recorders.values()) == len(operations)


async def test_log_stream_routes_reach_log_stream_and_are_in_the_public_documentation(fleet: Fleet) -> None:
    browser, recorders = await _recorded_gateway(fleet)
    card, run = uuid.uuid4(), uuid.uuid4()
    for suffix in ("logs", "logs/download"):
        response = await browser.get(f"/api/cards/{card}/runs/{run}/{suffix}", params={"limit": "5"})
        assert response.json()["service"] == "log-stream"
    assert recorders["core"].seen == []
    documented = (await browser.get("/api/openapi.json")).json()["paths"]
    assert "/api/cards/{card_id}/runs/{run_id}/logs" in documented
    assert "/api/cards/{card_id}/runs/{run_id}/logs/download" in documented
    published = {template for _, _, template in _operations()}
    assert published <= set(documented)
    assert not [p for p in documented if p.startswith(("/internal", "/_events", "/v1"))]


async def test_a_path_no_service_publishes_is_404_and_a_wrong_method_405_without_leaving_the_gateway(
    fleet: Fleet,
) -> None:
    browser, recorders = await _recorded_gateway(fleet)
    workspace = uuid.uuid4()
    for method, path in (
        ("GET", "/api/nonesuch"),
        ("GET", f"/api/workspaces/{workspace}/plan"),
        ("GET", f"/api/workspaces/{workspace}/"),
        ("GET", f"/api/cards/{uuid.uuid4()}/runs/{uuid.uuid4()}/logs/extra"),
        ("POST", "/api/internal/reconciliation"),
    ):
        response = await browser.request(method, path)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), path
    wrong = await browser.delete(f"/api/workspaces/{workspace}/usage")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")
    assert wrong.headers["allow"] == "GET"
    own = await browser.patch(f"/api/workspaces/{workspace}/api-keys")
    assert own.status_code == 405
    for method in ("OPTIONS", "HEAD", "TRACE"):
        other = await browser.request(method, f"/api/workspaces/{workspace}/usage")
        assert (other.status_code, other.headers["allow"]) == (405, "GET"), method
    preflight = await browser.options("/api/auth/signin")
    assert (preflight.status_code, preflight.headers["allow"]) == (405, "POST")
    assert all(r.seen == [] for r in recorders.values())


async def test_the_table_follows_the_published_documents(fleet: Fleet, tmp_path: Path) -> None:
    contracts = tmp_path / "openapi"
    shutil.copytree(OPENAPI_DIR, contracts)
    billing = json.loads((contracts / "billing.json").read_text())
    billing["paths"]["/api/workspaces/{workspace_id}/forecast"] = {"get": {"responses": {}}}
    (contracts / "billing.json").write_text(json.dumps(billing))
    browser, _ = await _recorded_gateway(fleet, openapi_dir=contracts)
    forecast = await browser.get(f"/api/workspaces/{uuid.uuid4()}/forecast")
    assert forecast.json()["service"] == "billing"
    assert "/api/workspaces/{workspace_id}/forecast" in (await browser.get("/api/openapi.json")).json()["paths"]


def test_literal_segments_win_over_parameters_and_parameters_take_one_non_empty_segment() -> None:
    table = RouteTable(
        [
            PublicRoute.parse("core", "/api/workspaces/{workspace_id}", ["get"]),
            PublicRoute.parse("billing", "/api/workspaces/usage", ["get"]),
        ]
    )
    assert table.find("GET", ("api", "workspaces", "usage")).owner == "billing"
    assert table.find("GET", ("api", "workspaces", "w1")).owner == "core"
    for segments in (("api", "workspaces", ""), ("api", "workspaces", "a", "b"), ("api", "Workspaces", "a")):
        with pytest.raises(Exception, match="No such endpoint"):
            table.find("GET", segments)


def test_two_services_publishing_one_operation_is_refused() -> None:
    with pytest.raises(ValueError, match="published by both"):
        RouteTable(
            [
                PublicRoute.parse("core", "/api/runs/{run_id}/cancel", ["post"]),
                PublicRoute.parse("orchestrator", "/api/runs/{id}/cancel", ["post"]),
            ]
        )


def test_every_operation_relayed_as_a_stream_is_a_published_route() -> None:
    table = RouteTable.from_documents(load_documents(OPENAPI_DIR))
    for method, template in STREAMED:
        assert any(route.template == template and method in route.methods for route in table.routes), template
