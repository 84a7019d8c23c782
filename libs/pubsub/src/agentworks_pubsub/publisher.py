"""Publishing events with the official google-cloud-pubsub client (the emulator via PUBSUB_EMULATOR_HOST)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from agentworks_events import Event, EventMessage, to_message, topic_of
from agentworks_platform.telemetry import current_traceparent
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.cloud.pubsub_v1.types import BatchSettings, PublisherOptions


class MessageSink(Protocol):
    """Anything that can publish an already-serialised event message to a topic."""

    async def publish_message(self, topic: str, message: EventMessage) -> str: ...


class EventPublisher:
    """Publishes with ordering keys enabled and batching tuned for latency; returns the message id."""

    def __init__(self, project: str, client: pubsub_v1.PublisherClient | None = None) -> None:
        self.project = project
        self._client = client or pubsub_v1.PublisherClient(
            batch_settings=BatchSettings(max_messages=100, max_bytes=1_000_000, max_latency=0.001),
            publisher_options=PublisherOptions(enable_message_ordering=True),
        )

    def topic_path(self, topic: str) -> str:
        return str(self._client.topic_path(self.project, topic))

    async def publish(self, event: Event) -> str:
        return await self.publish_message(topic_of(event), to_message(event, current_traceparent()))

    async def publish_message(self, topic: str, message: EventMessage) -> str:
        path = self.topic_path(topic)
        future = self._client.publish(path, message.data, ordering_key=message.ordering_key, **message.attributes)
        try:
            message_id = str(await asyncio.wrap_future(future))
        except Exception:
            if message.ordering_key:
                # The client pauses a key after a failure; resume so the relay can retry it later.
                self._client.resume_publish(path, message.ordering_key)
            raise
        return message_id

    def close(self) -> None:
        self._client.stop()
