"""Every service refuses text with NUL characters in any path, query or JSON body field, with no schema help."""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from agentworks_platform.app import create_service_app
from agentworks_platform.errors import AppError
from agentworks_platform.input_rules import NO_NUL_PATTERN, VISIBLE_TEXT_PATTERN, EmailAddress, visible_text
from agentworks_platform.pagination import decode_cursor, encode_cursor
from agentworks_platform.settings import ServiceSettings
from fastapi import APIRouter, Request, WebSocket
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.websockets import WebSocketDisconnect


class _Note(BaseModel):
    title: str
    tags: list[str] = []
    meta: dict[str, Any] = {}


def _app(tmp_path: Path) -> Any:
    router = APIRouter()

    @router.post("/notes")
    async def create(note: _Note) -> _Note:
        return note

    @router.get("/notes/{name}")
    async def read(name: str, q: str = "") -> dict[str, str]:
        return {"name": name, "q": q}

    @router.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @router.websocket("/ws")
    async def echo(websocket: WebSocket, q: str = "") -> None:
        await websocket.accept()
        await websocket.send_text(q)
        await websocket.close()

    settings = ServiceSettings(
        service_name="demo",
        environment="test",
        dev_signing_key_file=tmp_path / "k.pem",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/demo.db",
    )
    return create_service_app(settings, title="demo", description="demo", routers=[router])


def _client(tmp_path: Path) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(tmp_path), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("POST", "/notes", {"title": "a\u0000b"}, "body.title"),
        ("POST", "/notes", {"title": "ok", "tags": ["x", "\u0000"]}, "body.tags.1"),
        ("POST", "/notes", {"title": "ok", "meta": {"deep": [{"k": "v\u0000"}]}}, "body.meta.deep.0.k"),
        ("POST", "/notes", {"title": "ok", "meta": {"k\u0000": 1}}, "body.meta"),
        ("GET", "/notes/a%00b", None, "path.name"),
        ("GET", "/notes/a?q=x%00", None, "query.q"),
        ("GET", "/notes/a?q=ok&other%00=1", None, "query.other\u0000"),
    ],
)
async def test_nul_anywhere_in_a_request_is_a_422_envelope(
    tmp_path: Path, method: str, url: str, body: object, field: str
) -> None:
    async with _client(tmp_path) as client:
        response = await client.request(method, url, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [d["field"] for d in error["details"]] == [field]
    assert "NUL" in error["details"][0]["problem"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/notes", {"title": "a literal \\u0000 is six characters, not a NUL"}),
        ("GET", "/notes/a%20b?q=%E2%82%AC", None),
    ],
)
async def test_text_without_nul_passes(tmp_path: Path, method: str, url: str, body: object) -> None:
    async with _client(tmp_path) as client:
        response = await client.request(method, url, json=body)
    assert response.status_code == 200, response.text


async def test_a_body_the_route_reads_itself_is_left_to_the_route(tmp_path: Path) -> None:
    async with _client(tmp_path) as client:
        response = await client.post(
            "/raw", content=b'{"title": "\\u0000"}', headers={"content-type": "application/json"}
        )
    assert response.json() == {"bytes": 19}


async def test_a_body_that_is_not_json_gets_the_routes_own_422(tmp_path: Path) -> None:
    async with _client(tmp_path) as client:
        response = await client.post("/notes", content=b'"\\u0000', headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_websocket_with_nul_in_its_query_is_closed_before_it_opens(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        with client.websocket_connect("/ws?q=fine") as websocket:
            assert websocket.receive_text() == "fine"
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws?q=bad%00"):
            pass
    assert refused.value.code == 1008


def test_the_published_document_states_the_rule_on_every_free_text_string(tmp_path: Path) -> None:
    document = _app(tmp_path).openapi()
    note = document["components"]["schemas"]["_Note"]["properties"]
    assert note["title"]["pattern"] == NO_NUL_PATTERN
    assert note["tags"]["items"]["pattern"] == NO_NUL_PATTERN
    [name, q] = document["paths"]["/notes/{name}"]["get"]["parameters"]
    assert name["schema"]["pattern"] == q["schema"]["pattern"] == NO_NUL_PATTERN
    assert re.fullmatch(NO_NUL_PATTERN, "any text at all\n")
    assert not re.fullmatch(NO_NUL_PATTERN, "a\x00b")


@pytest.mark.parametrize("text", ["x", " x ", "\u3000x\n", "\ufeff"])
def test_visible_text_matches_its_pattern_after_trimming(text: str) -> None:
    assert re.fullmatch(VISIBLE_TEXT_PATTERN, text)
    assert TypeAdapter(Annotated[str, visible_text(10)]).validate_python(text) == text.strip()


@pytest.mark.parametrize("text", ["", " ", "\n", "\t\r", "\u3000", "\x1c", "\u2028", "x\x00"])
def test_blank_text_is_refused_and_the_pattern_says_so(text: str) -> None:
    """What the document's pattern refuses, the validator refuses too (and the other way round)."""
    assert not re.fullmatch(VISIBLE_TEXT_PATTERN, text)
    with pytest.raises(ValidationError):
        TypeAdapter(Annotated[str, visible_text(10)]).validate_python(text)


@pytest.mark.parametrize("email", ["ada@example.com", "f32+@cv.test", "9f`1e@w.s3q.com", "Ada@EXAMPLE.org"])
def test_email_addresses_of_any_public_or_test_domain_are_accepted(email: str) -> None:
    accepted = TypeAdapter(EmailAddress).validate_python(email)
    assert accepted.split("@")[1] == email.split("@")[1].lower()


@pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada@localhost", "a b@example.com", "ada@x"])
def test_what_is_not_an_address_is_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(EmailAddress).validate_python(email)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_json_in_another_encoding_than_utf8_is_refused(tmp_path: Path, encoding: str) -> None:
    """The parser reads UTF-16 and UTF-32 too, where a NUL is not written as the escape; RFC 8259 asks for UTF-8."""
    with TestClient(_app(tmp_path)) as client:
        body = json.dumps({"title": "a\u0000b"}).encode(encoding)
        response = client.post("/notes", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
        clean = client.post("/notes", content=json.dumps({"title": "ab"}).encode(encoding))
        assert clean.status_code == 422


def test_a_cursor_carrying_nul_text_is_refused() -> None:
    forged = base64.urlsafe_b64encode(json.dumps(["x\u0000y", str(uuid.uuid4())]).encode()).decode()
    with pytest.raises(AppError) as refused:
        decode_cursor(forged, (str, uuid.UUID))
    assert refused.value.code == "invalid_cursor"
    assert decode_cursor(encode_cursor("xy", uuid.UUID(int=1)), (str, uuid.UUID)) == ("xy", uuid.UUID(int=1))
