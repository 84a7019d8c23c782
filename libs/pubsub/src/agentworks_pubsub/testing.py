"""Test support: an in-memory sink that records what a service would publish, and push envelopes."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from agentworks_events import Event, EventMessage, parse_event, to_message

from agentworks_pubsub.wiring import outbox_of


def push_envelope(event: Event, subscription: str, attempt: int | None = None) -> dict[str, Any]:
    """The JSON body Pub/Sub pushes for ``event`` (a fresh message id, as a redelivery would have)."""
    message = to_message(event)
    body: dict[str, Any] = {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": message.attributes,
            "messageId": uuid.uuid4().hex,
        },
        "subscription": subscription,
    }
    if attempt is not None:
        body["deliveryAttempt"] = attempt
    return body


class RecordingSink:
    """Collects published messages in order; ``failing`` makes every publish raise."""

    def __init__(self) -> None:
        self.published: list[tuple[str, EventMessage]] = []
        self.failing = False

    async def publish_message(self, topic: str, message: EventMessage) -> str:
        if self.failing:
            raise ConnectionError("pubsub unavailable")
        self.published.append((topic, message))
        return str(len(self.published))

    def event_ids(self) -> list[str]:
        return [m.attributes["event_id"] for _, m in self.published]

    def events(self) -> list[Event]:
        return [parse_event(topic, message.data) for topic, message in self.published]

    def types(self) -> list[str]:
        return [m.attributes["type"] for _, m in self.published]


def settled(app: Any, timeout: float = 5.0) -> None:
    """Wait until ``app`` (serving on another thread) has no background publish in flight, so what its
    sink holds is everything its committed transactions published."""
    outbox = outbox_of(app.state.ctx)
    deadline = time.monotonic() + timeout
    while outbox.publishing and time.monotonic() < deadline:
        time.sleep(0.002)
