"""Every timestamp a response or an event carries is produced by the one shared type (RFC 3339 UTC with ``Z``).

The shared type marks its schema with ``UTC_TEXT_PATTERN``; a ``date-time`` (or a field named like a moment)
without it in a response or event schema was serialised some other way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentworks_events import UTC_TEXT_PATTERN, AwareUtcDateTime, UtcDateTime, utc_text
from agentworks_events.samples import sample_events
from pydantic import TypeAdapter, ValidationError

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
OPENAPI = sorted((CONTRACTS / "openapi").glob("*.json"))
EVENTS = sorted((CONTRACTS / "events").glob("*.json"))
MOMENT_NAME = re.compile(r"(^at$|_at$)")


def _resolve(document: dict[str, Any], ref: str) -> tuple[str, dict[str, Any]]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return ref, node


def _moments(document: dict[str, Any], schema: Any, where: str, seen: set[str]) -> Iterator[tuple[str, Any]]:
    """Every sub-schema of ``schema`` that is a date-time or a property named like a moment, with its location."""
    if isinstance(schema, list):
        for item in schema:
            yield from _moments(document, item, where, seen)
        return
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        ref, target = _resolve(document, schema["$ref"])
        if ref not in seen:
            seen.add(ref)
            yield from _moments(document, target, ref, seen)
        return
    if schema.get("format") == "date-time":
        yield where, schema
    for name, sub in schema.get("properties", {}).items():
        if MOMENT_NAME.search(name):
            yield from _kinds_of_moment(document, sub, f"{where}.{name}")
        else:
            yield from _moments(document, sub, f"{where}.{name}", seen)
    for key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "$defs", "prefixItems"):
        if key in schema:
            sub = schema[key]
            values = sub.values() if key == "$defs" else [sub]
            for value in values:
                yield from _moments(document, value, f"{where}.{key}", seen)


def _kinds_of_moment(document: dict[str, Any], schema: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    """A field named like a moment: each of its non-null alternatives must be the shared date-time."""
    options = schema.get("anyOf", [schema])
    for option in options:
        if option.get("type") != "null":
            yield where, _resolve(document, option["$ref"])[1] if "$ref" in option else option


def _response_schemas(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                for media, content in response.get("content", {}).items():
                    yield f"{method.upper()} {path} {status} {media}", content.get("schema", {})


@pytest.mark.parametrize("path", OPENAPI, ids=lambda p: p.stem)
def test_every_response_timestamp_of_every_service_is_the_shared_type(path: Path) -> None:
    document = json.loads(path.read_text())
    found = [
        (where, schema)
        for operation, schema in _response_schemas(document)
        for where, schema in _moments(document, schema, operation, set())
    ]
    wrong = [where for where, schema in found if schema.get("pattern") != UTC_TEXT_PATTERN]
    assert not wrong, f"timestamps not made by UtcDateTime in {path.name}: {sorted(set(wrong))}"
    if path.stem in ("core", "gateway", "billing", "log-stream"):
        assert found, f"{path.name} has no response timestamps at all: is the walk broken?"


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_every_event_timestamp_is_the_shared_type(path: Path) -> None:
    document = json.loads(path.read_text())
    found = list(_moments(document, document, path.stem, set()))
    assert found
    assert [where for where, schema in found if schema.get("pattern") != UTC_TEXT_PATTERN] == []


def test_every_sample_event_serialises_its_moments_with_z() -> None:
    for event in sample_events():
        data = json.loads(event.model_dump_json())
        assert re.match(UTC_TEXT_PATTERN, data["occurred_at"]), data
        for line in data.get("lines", []):
            assert re.match(UTC_TEXT_PATTERN, line["at"]), line


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        ("2026-12-06T10:00:00", "2026-12-06T10:00:00.000000Z"),  # naive, as SQLite hands it back
        ("2026-12-06T10:00:00.5+00:00", "2026-12-06T10:00:00.500000Z"),
        ("2026-12-06T11:30:00.123456+01:30", "2026-12-06T10:00:00.123456Z"),
        ("2026-12-06T05:00:00-05:00", "2026-12-06T10:00:00.000000Z"),
    ],
)
def test_one_format_whatever_the_offset_or_precision(moment: str, text: str) -> None:
    api = TypeAdapter(UtcDateTime)
    assert api.dump_json(api.validate_python(moment)).decode() == f'"{text}"'
    assert re.match(UTC_TEXT_PATTERN, text)
    assert utc_text(api.validate_python(moment)) == text


def test_an_event_moment_without_an_offset_is_refused() -> None:
    event = TypeAdapter(AwareUtcDateTime)
    with pytest.raises(ValidationError):
        event.validate_python("2026-12-06T10:00:00")
    assert event.dump_json(event.validate_python("2026-12-06T12:00:00+02:00")) == b'"2026-12-06T10:00:00.000000Z"'
