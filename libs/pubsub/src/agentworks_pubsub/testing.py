"""Test support: an in-memory sink that records what a service would publish, push envelopes and pulled
messages."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Awaitable, Iterable
from typing import Any, Protocol, runtime_checkable

from agentworks_events import Event, EventMessage, parse_event, to_message
from google.pubsub_v1 import PubsubMessage, ReceivedMessage

from agentworks_pubsub.outbox import Outbox
from agentworks_pubsub.publisher import EventPublisher
from agentworks_pubsub.topology import load_topology


async def publish_all(events: Iterable[Event]) -> None:
    """Publish events in order to the topology's project as a service would (the Pub/Sub emulator of
    ``PUBSUB_EMULATOR_HOST`` when set): how stack tests stand in for a service that is not part of them."""
    publisher = EventPublisher(load_topology().project)
    try:
        for event in events:
            await publisher.publish(event)
    finally:
        await publisher.close()


@runtime_checkable
class Publishing(Protocol):
    """A service state that publishes through an outbox."""

    outbox: Outbox


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


def received_message(event: Event, attempt: int = 1, data: bytes | None = None) -> ReceivedMessage:
    """``event`` as a pull returns it (a fresh message and ack id, as a redelivery would have); ``data``
    replaces the body, to deliver something that is not an event."""
    message = to_message(event)
    return ReceivedMessage(
        ack_id=f"ack-{uuid.uuid4().hex}",
        message=PubsubMessage(
            data=message.data if data is None else data,
            attributes=message.attributes,
            message_id=uuid.uuid4().hex,
            ordering_key=message.ordering_key,
        ),
        delivery_attempt=attempt,
    )


class RecordingSink:
    """Collects published messages in order; ``failing`` makes every publish raise."""

    def __init__(self) -> None:
        self.published: list[tuple[str, EventMessage]] = []
        self.failing = False

    def submit(self, topic: str, message: EventMessage) -> Awaitable[str]:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if self.failing:
            answer.set_exception(ConnectionError("pubsub unavailable"))
        else:
            self.published.append((topic, message))
            answer.set_result(str(len(self.published)))
        return answer

    def event_ids(self) -> list[str]:
        return [m.attributes["event_id"] for _, m in self.published]

    def events(self) -> list[Event]:
        return [parse_event(topic, message.data) for topic, message in self.published]

    def types(self) -> list[str]:
        return [m.attributes["type"] for _, m in self.published]


def settled(app: Any, timeout: float = 5.0) -> None:
    """Wait until ``app`` (serving on another thread) has no background publish in flight, so what its
    sink holds is everything its committed transactions published."""
    state = app.state.ctx.state
    assert isinstance(state, Publishing), f"{type(state).__name__} has no outbox"
    outbox = state.outbox
    deadline = time.monotonic() + timeout
    while outbox.publishing and time.monotonic() < deadline:
        time.sleep(0.002)
