"""Rules every request of every service obeys, whatever its schemas say; applied once, by the app factory.

Text with a NUL character (U+0000) is refused: PostgreSQL cannot store it in a text column (SQLite can), so
without this the same request would be stored on one backend and be a 500 on the other. The rule runs as
an app-wide dependency, so it covers each route's path and query parameters and its JSON body (keys and
values at any depth) without any schema having to remember it. A route that reads its body itself (the
gateway's proxy, Pub/Sub push, webhooks) is not parsed here: the proxied service applies the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
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
    # A NUL inside JSON text is always the escape \u0000 (a raw control character is not valid JSON).
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
