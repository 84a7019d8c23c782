"""Every route another service calls admits exactly the services named on it (``allow_callers``): each such route
of every service is called with a valid token of every identity, and only the named callers get past the check.

The routes are discovered from the services' apps, so a new route that declares no callers fails here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_blobs import LocalBlobs
from agentworks_log_stream.config import LogStreamSettings
from agentworks_log_stream.state import LogStreamState
from agentworks_log_stream.terminal.archive import Archiver
from agentworks_log_stream.terminal.fanout import Fanout
from agentworks_log_stream.terminal.hub import Hub
from agentworks_platform.app import (
    CALLER_REFUSED,
    ServiceContext,
    admitted_callers,
    build_auth,
    served_routes,
)
from agentworks_platform.db import Database
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.ownership import Ownership
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, RouteContext
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from .deploy_support import SERVICES, service_app, settings_class

CALLED = [s for s in SERVICES if s != "gateway"]  # the gateway's routes are public: it authenticates people itself
CALLERS = (*SERVICES, "scheduler", "operator", "pubsub-invoker", "intruder")

# Who calls what, besides the gateway calling every /api route: each list is what the code calls (grep
# `/internal/` and `/v1/`). Widening one is a security decision, made here and on the route together.
INTERNAL: dict[tuple[str, str, str], set[str]] = {
    ("core", "GET", "/internal/workspaces/{workspace_id}/members/{user_id}"): {
        "gateway",
        "orchestrator",
        "log-stream",
        "billing",
    },
    ("core", "GET", "/internal/cards/{card_id}"): {"log-stream"},
    ("core", "GET", "/internal/boards/{board_id}"): {"log-stream"},
    ("core", "GET", "/internal/projects/{project_id}"): {"billing", "orchestrator", "log-stream"},
    ("core", "POST", "/internal/workspaces/{workspace_id}/audit"): {"gateway"},
    ("core", "GET", "/internal/projects/{project_id}/run-context"): {"orchestrator"},
    ("core", "GET", "/internal/cards/{card_id}/documents"): {"orchestrator"},
    ("core", "GET", "/internal/cards/{card_id}/documents/{name}"): {"orchestrator"},
    ("core", "GET", "/internal/cards/{card_id}/gate"): {"orchestrator"},
    ("billing", "GET", "/internal/workspaces/{workspace_id}/plan"): {"orchestrator"},
    ("billing", "GET", "/internal/workspaces/{workspace_id}/api-allowance"): {"gateway"},
    ("billing", "PUT", "/internal/workspaces/{workspace_id}/plan"): {"operator"},
    ("billing", "POST", "/internal/periods/{period}/close"): {"scheduler"},
    ("billing", "POST", "/internal/reconciliation"): {"scheduler"},
    ("billing", "POST", "/webhooks/stripe"): {"gateway"},
    ("orchestrator", "GET", "/git/{project_id}/{git_path:path}"): {"gateway"},
    ("orchestrator", "POST", "/git/{project_id}/{git_path:path}"): {"gateway"},
    ("log-stream", "POST", "/internal/retention/prune"): {"scheduler"},
    # The gateway serves these to workspace API keys (its /v1, the router's published customer operations).
    ("provider-router", "GET", "/v1/models"): {"core", "gateway"},
    ("provider-router", "GET", "/v1/models/{model_id}"): {"core", "orchestrator", "gateway"},
    ("provider-router", "POST", "/v1/chat/completions"): {"orchestrator", "gateway"},
    ("provider-router", "POST", "/v1/images/generations"): {"orchestrator", "gateway"},
    ("provider-router", "POST", "/v1/embeddings"): {"orchestrator", "gateway"},
    ("provider-router", "POST", "/v1/responses"): {"orchestrator", "gateway"},
    ("provider-router", "GET", "/v1/images/files/{image_file}"): {"orchestrator", "gateway", "core"},
    ("provider-router", "GET", "/v1/health/providers"): {"operator"},
    ("provider-router", "GET", "/internal/runs/{run_id}/usage"): {"orchestrator"},
}
# Routes no service token guards, and what guards them instead.
UNGUARDED = {
    "/healthz": "liveness, says nothing",
    "/readyz": "readiness, says nothing",
    "/openapi.json": "the API's description",
    "/docs": "the API's description",
    "/docs/oauth2-redirect": "the API's description",
    "/redoc": "the API's description",
}
PUSH_PREFIX = "/_events/"  # Pub/Sub push: the receiver admits only the push identity (pubsub_push_email)


def routes_of(service: str) -> Iterator[tuple[str, str, RouteContext]]:
    """(method, path, route) of everything the service serves; WebSockets as method ``WS``."""
    for route in served_routes(service_app(service)):
        if isinstance(route.original_route, APIWebSocketRoute):
            yield "WS", str(route.path), route
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield method, str(route.path), route


def expected_callers(service: str, method: str, path: str) -> set[str]:
    if path.startswith("/api/"):
        return {"gateway"}
    return INTERNAL[(service, method, path)]


@pytest.mark.parametrize("service", CALLED)
def test_every_route_names_its_callers_unless_nothing_needs_guarding(service: str) -> None:
    for method, path, route in routes_of(service):
        callers = admitted_callers(route)
        if path in UNGUARDED or path.startswith(PUSH_PREFIX):
            assert callers is None, f"{service} {method} {path}"
            continue
        assert callers is not None, f"{service} {method} {path} names no callers: add allow_callers(...)"
        expected = expected_callers(service, method, path)
        assert callers == expected, f"{service} {method} {path}: the route and INTERNAL here must name the same callers"


def test_the_table_lists_only_routes_that_exist() -> None:
    served = {(service, method, path) for service in CALLED for method, path, _ in routes_of(service)}
    assert set(INTERNAL) <= served


def test_the_gateway_serves_nothing_that_trusts_a_service_token() -> None:
    assert all(admitted_callers(route) is None for _, _, route in routes_of("gateway"))


# --- every guarded route × every calling identity --------------------------------------------------------


@pytest.fixture(scope="session")
def signers(dev_key_file: Path) -> dict[str, LocalTokenSigner]:
    key = dev_key_file.read_bytes()
    return {caller: LocalTokenSigner(key, dev_service_account(caller)) for caller in CALLERS}


class Probe:
    """The service's app with a context but nothing started: a call that passes the caller check goes on to the
    handler, which may fail for want of tables; ``passed`` tells whether the check let it through, and as whom.
    Of what the services' setups build, only log-stream's state is there (its sockets ask core, which answers
    404 to every lookup); a handler that needs anything else fails after the check."""

    def __init__(self, app: FastAPI, ctx: ServiceContext) -> None:
        self.app = app
        self.ctx = ctx
        self.state: dict[str, Any] = {}
        app.state.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.state = scope["state"] = {}
        await self.app(scope, receive, send)

    def passed_as(self) -> str | None:
        caller = self.state.get("service_caller")
        return None if caller is None else str(caller.email)


@pytest.fixture
async def probe(service: str, dev_key_file: Path, tmp_path: Path) -> AsyncIterator[Probe]:
    cls = settings_class(service)
    local_blobs = {"blobs_dir": tmp_path / "blobs"} if "blobs_dir" in cls.model_fields else {}
    settings = cls(
        environment="test",
        dev_signing_key_file=dev_key_file,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/{service}.db",
        **local_blobs,
    )
    tokens, verifier = build_auth(settings)
    core = InternalClient(
        "http://127.0.0.1:8081", tokens, transport=httpx.MockTransport(lambda _: httpx.Response(404, json={}))
    )
    ctx = ServiceContext(settings, Database(settings.database_url), tokens, verifier)
    if isinstance(settings, LogStreamSettings):
        ctx.state = log_stream_state(settings, ctx.db, core)
    yield Probe(service_app(service, settings), ctx)
    await core.aclose()
    await ctx.db.dispose()


def log_stream_state(settings: LogStreamSettings, db: Database, core: InternalClient) -> LogStreamState:
    """Log-stream's state with nothing started: its sockets ask core who owns a card or board after the check."""
    hub = Hub(settings.client_queue_size)
    archiver = Archiver(db, LocalBlobs(settings.blobs_dir), settings.retain_lines_hours)
    return LogStreamState(hub, Fanout(db, hub), archiver, core, Ownership(core))


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def principal_headers() -> dict[str, str]:
    return Principal(uuid.uuid4(), "someone@example.com", request_id="r", client_ip="203.0.113.9").headers()


async def call(probe: Probe, method: str, path: str, token: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=probe, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=probe.ctx.settings.audience) as client:
        headers = {"authorization": f"Bearer {token}", **principal_headers()}
        return await client.request(method, concrete(path), headers=headers, json={})


def assert_refused(response: httpx.Response) -> None:
    """403 with the refusal in the service's error envelope (the router's /v1 routes use OpenAI's shape)."""
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("forbidden", CALLER_REFUSED)


@pytest.mark.parametrize("service", CALLED)
async def test_only_the_named_callers_get_through(
    service: str, probe: Probe, signers: dict[str, LocalTokenSigner]
) -> None:
    audience = probe.ctx.settings.audience
    guarded = [(m, p) for m, p, route in routes_of(service) if m != "WS" and admitted_callers(route) is not None]
    assert guarded
    for method, path in guarded:
        allowed = expected_callers(service, method, path)
        for caller, signer in signers.items():
            response = await call(probe, method, path, signer.sign(audience))
            where = f"{caller} → {service} {method} {path}"
            if caller in allowed:
                assert probe.passed_as() == dev_service_account(caller), where
                assert response.status_code != 401, where
            else:
                assert probe.passed_as() is None, where
                assert_refused(response)


@pytest.mark.parametrize("service", CALLED)
async def test_a_token_for_another_audience_or_none_is_refused(
    service: str, probe: Probe, signers: dict[str, LocalTokenSigner]
) -> None:
    for method, path, route in routes_of(service):
        callers = admitted_callers(route)
        if method == "WS" or callers is None:
            continue
        signer = signers[sorted(callers)[0]]
        elsewhere = await call(probe, method, path, signer.sign("http://127.0.0.1:9999"))
        assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (403, "forbidden")
        anonymous = await call(probe, method, path, "")
        assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
        assert probe.passed_as() is None


@pytest.mark.parametrize("service", ["log-stream"])
def test_websockets_admit_only_the_gateway(service: str, probe: Probe, signers: dict[str, LocalTokenSigner]) -> None:
    sockets = [path for method, path, _ in routes_of(service) if method == "WS"]
    assert sockets
    client = TestClient(probe)
    for path in sockets:
        for caller, signer in signers.items():
            headers = {"authorization": f"Bearer {signer.sign(probe.ctx.settings.audience)}", **principal_headers()}
            with (
                pytest.raises(WebSocketDisconnect) as closed,
                client.websocket_connect(concrete(path), headers=headers),
            ):
                pass
            # The gateway gets past the check, then core does not know the card or board (4404).
            assert closed.value.code == (4404 if caller == "gateway" else 4403), f"{caller} → {path}"
