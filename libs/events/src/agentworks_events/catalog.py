"""The catalog: which events travel on which topic, and how they map to Pub/Sub messages."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from agentworks_events.base import Event
from agentworks_events.cards import CARD_EVENT_ADAPTER
from agentworks_events.runs import AGENT_RUN_EVENT_ADAPTER
from agentworks_events.usage import USAGE_EVENT_ADAPTER

CARD_EVENTS: Final = "card-events"
AGENT_RUNS: Final = "agent-runs"
USAGE_EVENTS: Final = "usage-events"

TOPIC_ADAPTERS: Final[Mapping[str, TypeAdapter[Any]]] = {
    CARD_EVENTS: CARD_EVENT_ADAPTER,
    AGENT_RUNS: AGENT_RUN_EVENT_ADAPTER,
    USAGE_EVENTS: USAGE_EVENT_ADAPTER,
}


class UnknownEventError(ValueError):
    """The message is not a valid event of the topic (malformed, unknown type or wrong fields)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    """An event ready for Pub/Sub: body bytes, attributes and ordering key."""

    data: bytes
    attributes: dict[str, str]
    ordering_key: str


def adapter_for(topic: str) -> TypeAdapter[Any]:
    try:
        return TOPIC_ADAPTERS[topic]
    except KeyError:
        raise UnknownEventError(f"no events are defined for topic {topic!r}") from None


@functools.cache
def event_types(topic: str) -> tuple[str, ...]:
    """Every ``type`` value the topic's union accepts, in declaration order (computed once: it is a schema walk)."""
    schema = adapter_for(topic).json_schema()
    mapping = schema.get("discriminator", {}).get("mapping", {})
    return tuple(mapping)


@functools.cache
def _topics_by_type() -> dict[str, str]:
    return {event_type: topic for topic in TOPIC_ADAPTERS for event_type in event_types(topic)}


def topic_of(event: Event) -> str:
    try:
        return _topics_by_type()[event.type]
    except KeyError:
        raise UnknownEventError(f"event type {event.type!r} belongs to no topic") from None


def to_message(event: Event, traceparent: str | None = None) -> EventMessage:
    """Serialise an event with the attributes every subscriber and the dead-letter tools rely on."""
    attributes = {
        "type": event.type,
        "event_id": str(event.id),
        "workspace_id": str(event.workspace_id),
        "schema_version": str(event.schema_version),
    }
    if traceparent:
        attributes["traceparent"] = traceparent
    return EventMessage(event.model_dump_json().encode(), attributes, event.ordering_key)


def parse_event(topic: str, data: bytes) -> Event:
    """Validate message bytes as one of the topic's events, or raise UnknownEventError."""
    try:
        event: Event = adapter_for(topic).validate_json(data)
    except ValidationError as exc:
        raise UnknownEventError(_describe(exc)) from None
    return event


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in errors[:5]]
    return "; ".join(parts)
