"""How an operation publishes a streamed answer: ``text/event-stream`` whose every ``data:`` line is one JSON event.

OpenAPI 3.1 has no word for the items of a stream, so the media type's schema is that of one event, with the
models it refers to written in place (a ``$ref`` into pydantic's ``$defs`` would not resolve inside the service's
document). A reader of the document (the peer stub of a service's tests) validates each event against it.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from pydantic import BaseModel, TypeAdapter

EVENT_STREAM = "text/event-stream"


def event_stream(*events: type[BaseModel]) -> dict[str, Any]:
    """The ``content`` of a response whose events are each one of ``events`` (for FastAPI's ``responses=``)."""
    adapter: TypeAdapter[Any] = TypeAdapter(reduce(operator.or_, events))
    schema = adapter.json_schema()
    definitions = schema.pop("$defs", {})
    return {EVENT_STREAM: {"schema": _inlined(schema, definitions)}}


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return _inlined(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {key: _inlined(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    return node
