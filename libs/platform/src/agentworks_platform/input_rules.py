"""Rules every request of every service obeys, whatever its schemas say; applied once, by the app factory.

Text with a NUL character (U+0000) is refused: PostgreSQL cannot store it in a text column (SQLite can), so
without this the same request would be stored on one backend and be a 500 on the other. The rule runs as
an app-wide dependency, so it covers each route's path and query parameters and its JSON body (keys and
values at any depth) without any schema having to remember it. A route that reads its body itself (the
gateway's proxy, Pub/Sub push, webhooks) is not parsed here: the proxied service applies the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from pydantic import AfterValidator, StringConstraints, WithJsonSchema
from starlette.requests import HTTPConnection

NUL = "\x00"
NUL_PROBLEM = "Text must not contain the NUL character (\\u0000)."
_JSON_NUL_ESCAPE = b"\\u0000"

Location = tuple[str | int, ...]


def _nul_locations(value: Any, location: Location) -> Iterator[Location]:
    """Where NUL characters are in a decoded JSON value (in strings, or in object keys)."""
    if isinstance(value, str):
        if NUL in value:
            yield location
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield location
            yield from _nul_locations(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_locations(item, (*location, index))


def _pairs_with_nul(source: str, pairs: Iterable[tuple[str, Any]]) -> Iterator[Location]:
    for name, value in pairs:
        if NUL in name or (isinstance(value, str) and NUL in value):
            yield (source, name)


def _parsed_json_body(request: Request) -> bool:
    """True when FastAPI has read this route's body as JSON (the route declares one), so reading it is free."""
    route = request.scope.get("route")
    return getattr(route, "body_field", None) is not None


async def _body_nul_locations(request: Request) -> list[Location]:
    if not _parsed_json_body(request):
        return []
    body = await request.body()
    # UTF-8 JSON never holds a raw NUL byte (control characters are escaped), while UTF-16 and UTF-32, which
    # the parser would also read, hold one beside every ASCII character: refuse them (RFC 8259 asks for UTF-8).
    if b"\x00" in body:
        return [("body",)]
    # A NUL inside UTF-8 JSON text is always the escape \u0000.
    if _JSON_NUL_ESCAPE not in body:
        return []
    try:
        decoded = await request.json()
    except ValueError:  # not JSON after all: the route's own validation refuses it
        return []
    return list(_nul_locations(decoded, ("body",)))


async def refuse_nul_text(connection: HTTPConnection) -> None:
    """App-wide dependency: 422 (the usual validation envelope) if any path, query or JSON body text has a NUL."""
    locations = [
        *_pairs_with_nul("path", connection.path_params.items()),
        *_pairs_with_nul("query", connection.query_params.multi_items()),
    ]
    if isinstance(connection, Request):
        locations += await _body_nul_locations(connection)
    if not locations:
        return
    errors = [{"type": "nul_character", "loc": location, "msg": NUL_PROBLEM, "input": None} for location in locations]
    if isinstance(connection, Request):
        raise RequestValidationError(errors)
    raise WebSocketRequestValidationError(errors)


NO_NUL_PATTERN = "^[^\\u0000]*$"
"""The rule in the published documents, so clients and generated tests know it (ECMA and Python regex alike)."""


def document_text_rule(node: Any) -> None:
    """Give every free-text string schema in an OpenAPI document (at any depth) the no-NUL pattern.

    Strings that already carry a ``format``, ``pattern``, ``enum`` or ``const`` are left alone: each of
    those admits no NUL already."""
    if isinstance(node, list):
        for item in node:
            document_text_rule(item)
        return
    if not isinstance(node, dict):
        return
    constrained = node.keys() & {"format", "pattern", "enum", "const"}
    if node.get("type") == "string" and not constrained:
        node["pattern"] = NO_NUL_PATTERN
    for value in node.values():
        document_text_rule(value)


# What str.strip() and pydantic's strip_whitespace remove, spelled out: ``\s`` means something else in each regex
# engine that reads the published pattern (Python's, Rust's, ECMAScript's).
_WHITESPACE = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u001c-\\u001f"
VISIBLE_TEXT_PATTERN = f"^[^\\u0000]*[^\\u0000{_WHITESPACE}][^\\u0000]*$"
"""Text with at least one character that is neither whitespace nor NUL."""


def visible_text(max_length: int) -> Any:
    """Constraints of a required name or title: trimmed, not blank, at most ``max_length`` characters."""
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=VISIBLE_TEXT_PATTERN)


def _email_address(value: str) -> str:
    # Deliverability is not checked (no DNS); RFC 6761's .test names are accepted like any other domain.
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from None


EMAIL_MAX_LENGTH = 254
EmailAddress = Annotated[
    str,
    StringConstraints(max_length=EMAIL_MAX_LENGTH),
    AfterValidator(_email_address),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH}),
]
"""An email address as people type them (RFC 5322 addr-spec), normalised; one rule for every service."""
