"""Every public operation documents the errors it can answer, each with the ``{"error": …}`` envelope, so a
client (and Schemathesis) can rely on the published OpenAPI for 4xx answers as well as for successes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

OPENAPI = Path(__file__).resolve().parents[1] / "contracts" / "openapi"
ENVELOPE = "#/components/schemas/ErrorEnvelope"
METHODS = ("get", "put", "post", "patch", "delete")


def _public_operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    found = []
    for document in sorted(OPENAPI.glob("*.json")):
        for path, item in json.loads(document.read_text())["paths"].items():
            if path.startswith("/api/"):
                found += [(document.stem, method, path, item[method]) for method in METHODS if method in item]
    return found


def _envelope(operation: dict[str, Any], status: str) -> str | None:
    schema = operation["responses"].get(status, {}).get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref")


@pytest.mark.parametrize(("service", "method", "path", "operation"), _public_operations())
def test_public_operation_documents_its_errors_with_the_envelope(
    service: str, method: str, path: str, operation: dict[str, Any]
) -> None:
    expected = ["400", "401", "403", "422"] + (["404"] if "{" in path else [])
    assert {status: _envelope(operation, status) for status in expected} == dict.fromkeys(expected, ENVELOPE)
