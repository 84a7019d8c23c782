"""Publishing events with Google's async Pub/Sub client (the emulator via PUBSUB_EMULATOR_HOST)."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from agentworks_events import Event, EventMessage, to_message, topic_of
from agentworks_platform.telemetry import current_traceparent
from google.pubsub_v1 import PublisherAsyncClient, PubsubMessage
from google.pubsub_v1.services.publisher.transports import PublisherGrpcAsyncIOTransport

# Pub/Sub accepts at most 1,000 messages and 10 MB per publish request.
MAX_BATCH_MESSAGES = 1000
MAX_BATCH_BYTES = 9_000_000


class MessageSink(Protocol):
    """Anything that can publish an already-serialised event message to a topic.

    ``submit`` takes the message before it returns, so messages submitted one after another keep that
    order (per ordering key); the awaitable it returns gives the message id or raises."""

    def submit(self, topic: str, message: EventMessage) -> Awaitable[str]: ...


def publisher_client() -> PublisherAsyncClient:
    """Google's async publisher client; the emulator at ``$PUBSUB_EMULATOR_HOST`` over plain gRPC when set."""
    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if host:
        return PublisherAsyncClient(transport=PublisherGrpcAsyncIOTransport(channel=grpc.aio.insecure_channel(host)))
    return PublisherAsyncClient()


Waiting = tuple[PubsubMessage, "asyncio.Future[str]"]


@dataclass
class _TopicQueue:
    waiting: deque[Waiting] = field(default_factory=deque)
    sending: asyncio.Task[None] | None = None


class EventPublisher:
    """Publishes event messages, one request in flight per topic.

    Messages leave in the order they were submitted, so each ordering key keeps its order; those submitted
    while a request is in flight go together in the next one. A quiet service's message leaves at once (no
    batching delay, no thread hand-off), a busy one's are batched. When a request fails, the messages still
    waiting with the same ordering keys fail with it rather than overtake it (the outbox's sweep publishes
    them again, in order). Create and close it on the loop that uses it."""

    def __init__(self, project: str, client: PublisherAsyncClient | None = None) -> None:
        self.project = project
        self._client = client or publisher_client()
        self._topics: dict[str, _TopicQueue] = {}

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    async def publish(self, event: Event) -> str:
        return await self.submit(topic_of(event), to_message(event, current_traceparent()))

    def submit(self, topic: str, message: EventMessage) -> asyncio.Future[str]:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        queue = self._topics.setdefault(topic, _TopicQueue())
        pubsub_message = PubsubMessage(
            data=message.data, attributes=message.attributes, ordering_key=message.ordering_key
        )
        queue.waiting.append((pubsub_message, answer))
        if queue.sending is None:
            queue.sending = asyncio.create_task(self._send(topic, queue), name=f"publish-{topic}")
        return answer

    async def _send(self, topic: str, queue: _TopicQueue) -> None:
        try:
            while queue.waiting:
                batch = _next_batch(queue.waiting)
                try:
                    response = await self._client.publish(
                        topic=self.topic_path(topic), messages=[message for message, _ in batch]
                    )
                except Exception as exc:  # answered to each submitter; nothing here to retry
                    _fail(batch, exc)
                    _fail(_same_keys(queue.waiting, batch), exc)
                    continue
                for (_, answer), message_id in zip(batch, response.message_ids, strict=True):
                    if not answer.done():
                        answer.set_result(message_id)
        finally:
            queue.sending = None

    async def close(self) -> None:
        """Let the requests in flight finish, then close the channel."""
        sending = [queue.sending for queue in self._topics.values() if queue.sending is not None]
        await asyncio.gather(*sending, return_exceptions=True)
        await self._client.transport.close()  # type: ignore[no-untyped-call]  # untyped in google-api-core


def _next_batch(waiting: deque[Waiting]) -> list[Waiting]:
    batch: list[Waiting] = []
    size = 0
    while waiting and len(batch) < MAX_BATCH_MESSAGES:
        message_size = PubsubMessage.pb(waiting[0][0]).ByteSize()
        if batch and size + message_size > MAX_BATCH_BYTES:
            break
        batch.append(waiting.popleft())
        size += message_size
    return batch


def _same_keys(waiting: deque[Waiting], failed: list[Waiting]) -> list[Waiting]:
    """Take out of ``waiting`` the messages that share an ordering key with a failed batch."""
    keys = {message.ordering_key for message, _ in failed if message.ordering_key}
    held = [item for item in waiting if item[0].ordering_key in keys]
    for item in held:
        waiting.remove(item)
    return held


def _fail(items: list[Waiting], exc: Exception) -> None:
    for _, answer in items:
        if not answer.done():
            answer.set_exception(exc)
