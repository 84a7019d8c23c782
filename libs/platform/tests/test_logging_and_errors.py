from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx
import pytest
from agentworks_platform.app import create_service_app
from agentworks_platform.errors import Conflict
from agentworks_platform.logging import REDACTOR, CloudLoggingFormatter, configure_logging, get_logger
from agentworks_platform.settings import ServiceSettings
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel

CANARY = "sk-canary-0123456789abcdef"


def _capture(service: str = "svc") -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CloudLoggingFormatter(service, "proj"))
    logger = logging.getLogger("capture")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return stream


def test_logs_have_cloud_logging_shape_with_trace_correlation() -> None:
    stream = _capture()
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        get_logger("capture").info("card.moved", card_id="c1")
        context = span.get_span_context()
    entry = json.loads(stream.getvalue())
    assert entry["severity"] == "INFO"
    assert entry["message"] == "card.moved"
    assert entry["card_id"] == "c1"
    assert entry["logging.googleapis.com/trace"] == f"projects/proj/traces/{context.trace_id:032x}"
    assert entry["logging.googleapis.com/spanId"] == f"{context.span_id:016x}"
    assert trace.get_current_span().get_span_context().is_valid is False


def test_secrets_never_reach_the_log() -> None:
    stream = _capture()
    REDACTOR.register(["registered-secret-value"])
    get_logger("capture").warning(
        f"calling with {CANARY}",
        api_key="abc123456",
        headers={"Authorization": "Bearer xyz.abc.def"},
        note="registered-secret-value leaked?",
        detail="Bearer eyJhbGciOi.payload.sig",
    )
    text = stream.getvalue()
    for secret in (CANARY, "abc123456", "xyz.abc.def", "registered-secret-value", "eyJhbGciOi"):
        assert secret not in text
    assert "[REDACTED]" in text


class _Body(BaseModel):
    name: str


def _app(tmp_path: Path) -> httpx.AsyncClient:
    router = APIRouter()

    @router.post("/things")
    async def create(body: _Body) -> dict[str, str]:
        if body.name == "taken":
            raise Conflict("That name is taken.", details={"name": body.name})
        if body.name == "boom":
            raise RuntimeError(f"internal detail {CANARY}")
        return {"name": body.name}

    settings = ServiceSettings(
        service_name="demo",
        environment="test",
        dev_signing_key_file=tmp_path / "k.pem",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/demo.db",
    )
    app = create_service_app(settings, title="demo", description="demo", routers=[router])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "taken"}, 409, "conflict"),
        ({"name": 3}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
        ({"name": "boom"}, 500, "internal"),
    ],
)
async def test_errors_use_one_envelope_and_never_leak_internals(
    tmp_path: Path, body: object, status: int, code: str
) -> None:
    configure_logging("demo", "proj")
    async with _app(tmp_path) as client:
        response = await client.post("/things", json=body)
    assert response.status_code == status
    envelope = response.json()["error"]
    assert envelope["code"] == code
    assert envelope["message"]
    assert "Traceback" not in response.text
    assert CANARY not in response.text


async def test_unknown_route_and_method_use_the_envelope(tmp_path: Path) -> None:
    async with _app(tmp_path) as client:
        missing = await client.get("/nope")
        wrong = await client.get("/things")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
