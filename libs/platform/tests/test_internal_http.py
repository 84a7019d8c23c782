from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from agentworks_platform.app import allow_callers, create_service_app
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.service_auth import LocalTokenSigner, VerifiedCaller
from agentworks_platform.settings import ServiceSettings
from agentworks_platform.telemetry import configure_tracing
from fastapi import APIRouter, Depends, FastAPI, Request
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

CORE = "core@agentworks-local.iam.gserviceaccount.com"
Caller = Annotated[VerifiedCaller, Depends(allow_callers("core"))]
SPANS = InMemorySpanExporter()
configure_tracing("tests", "none", "proj", extra_processor=SimpleSpanProcessor(SPANS))


class Flaky:
    def __init__(self) -> None:
        self.failures_left = 0
        self.calls = 0
        self.traceparents: list[str | None] = []


def _app(tmp_path: Path, key_file: Path, flaky: Flaky) -> FastAPI:
    router = APIRouter()

    async def answer(request: Request, caller: Caller) -> dict[str, str]:
        flaky.calls += 1
        flaky.traceparents.append(request.headers.get("traceparent"))
        if flaky.failures_left:
            flaky.failures_left -= 1
            raise_unavailable()
        return {"caller": caller.email}

    router.add_api_route("/internal/thing", answer, methods=["GET", "POST"])
    settings = ServiceSettings(
        service_name="billing",
        environment="test",
        port=8085,
        dev_signing_key_file=key_file,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/b.db",
    )
    return create_service_app(settings, title="t", description="t", routers=[router])


def raise_unavailable() -> None:
    from agentworks_platform.errors import AppError

    raise AppError("try again", code="unavailable", status_code=503)


@pytest.fixture
async def setup(tmp_path: Path, dev_key_file: Path, dev_key: bytes) -> AsyncIterator[tuple[FastAPI, Flaky, bytes]]:
    flaky = Flaky()
    app = _app(tmp_path, dev_key_file, flaky)
    async with app.router.lifespan_context(app):
        yield app, flaky, dev_key


def _client(app: FastAPI, signer: LocalTokenSigner) -> InternalClient:
    return InternalClient("http://127.0.0.1:8085", signer, transport=httpx.ASGITransport(app=app), attempts=3)


async def test_calls_carry_a_verified_service_token_and_the_trace(setup: tuple[FastAPI, Flaky, bytes]) -> None:
    app, flaky, key = setup
    client = _client(app, LocalTokenSigner(key, CORE))
    with trace.get_tracer("t").start_as_current_span("caller") as span:
        response = await client.request("GET", "/internal/thing")
        trace_id = f"{span.get_span_context().trace_id:032x}"
    assert response.status_code == 200
    assert response.json() == {"caller": CORE}
    assert flaky.traceparents[0] is not None
    assert trace_id in flaky.traceparents[0]
    in_trace = [s for s in SPANS.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    server_spans = [s for s in in_trace if s.kind is SpanKind.SERVER]
    assert [s.name for s in server_spans] == ["GET /internal/thing"]  # one per request, named by its route
    assert server_spans[0].attributes is not None
    assert server_spans[0].attributes["http.response.status_code"] == 200
    assert not [s.name for s in in_trace if s.name.startswith("fastapi.")]  # no span per dependency or step
    await client.aclose()


async def test_untrusted_and_missing_callers_are_refused(setup: tuple[FastAPI, Flaky, bytes]) -> None:
    app, flaky, key = setup
    stranger = _client(app, LocalTokenSigner(key, "gateway@agentworks-local.iam.gserviceaccount.com"))
    assert (await stranger.request("GET", "/internal/thing")).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as anonymous:
        response = await anonymous.get("/internal/thing")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert flaky.calls == 0


async def test_idempotent_calls_are_retried_and_others_are_not(setup: tuple[FastAPI, Flaky, bytes]) -> None:
    app, flaky, key = setup
    client = _client(app, LocalTokenSigner(key, CORE))
    flaky.failures_left = 2
    assert (await client.request("GET", "/internal/thing")).status_code == 200
    assert flaky.calls == 3
    flaky.calls, flaky.failures_left = 0, 1
    assert (await client.request("POST", "/internal/thing")).status_code == 503
    assert flaky.calls == 1
    flaky.calls, flaky.failures_left = 0, 5
    assert (await client.request("GET", "/internal/thing")).status_code == 503
    assert flaky.calls == 3


def test_callers_are_named_services_resolved_to_the_emails_the_deploy_lists() -> None:
    deployed = {"core": "aw-core@acme.iam.gserviceaccount.com"}
    dev = ServiceSettings(service_name="billing", environment="test", trusted_callers=deployed)
    assert dev.caller_emails(["core", "scheduler"]) == {
        "aw-core@acme.iam.gserviceaccount.com",
        "scheduler@agentworks-local.iam.gserviceaccount.com",
    }
    prod = ServiceSettings(
        service_name="billing", environment="prod", database_url="postgresql+psycopg://u@h/db", trusted_callers=deployed
    )
    # A caller the deploy does not list has no identity in production: nobody passes as it.
    assert prod.caller_emails(["core", "scheduler"]) == {"aw-core@acme.iam.gserviceaccount.com"}
    assert prod.caller_emails(["scheduler"]) == frozenset()


def test_a_rule_names_at_least_one_caller() -> None:
    with pytest.raises(ValueError, match="at least one"):
        allow_callers()
