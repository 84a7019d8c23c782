from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from agentworks_events import EventMessage
from agentworks_localstack.threads import EmulatorThread
from agentworks_pubsub import EventPublisher
from google.api_core.exceptions import PermissionDenied
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.pubsub_v1 import PublisherAsyncClient, PubsubMessage
from google.pubsub_v1.services.publisher.transports import PublisherGrpcAsyncIOTransport

PROJECT = "publisher-test"
TOPIC = "card-events"
SUBSCRIPTION = f"projects/{PROJECT}/subscriptions/everything"


class PublishRequests(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Sees each publish request on the wire and holds the first until ``release`` is set; refuses the first
    ``refuse`` of them as Pub/Sub would a caller without permission."""

    def __init__(self, refuse: int = 0) -> None:
        self.sizes: list[int] = []
        self.refuse = refuse
        self.release = asyncio.Event()
        self.arrived = asyncio.Condition()

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        if client_call_details.method.endswith(b"/Publish"):
            async with self.arrived:
                self.sizes.append(len(request.messages))
                self.arrived.notify_all()
            await self.release.wait()
            if len(self.sizes) <= self.refuse:
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.PERMISSION_DENIED, grpc.aio.Metadata(), grpc.aio.Metadata(), "not allowed"
                )
        return await continuation(client_call_details, request)

    async def in_flight(self, count: int) -> None:
        """Wait until ``count`` requests have reached the wire."""
        async with asyncio.timeout(10), self.arrived:
            await self.arrived.wait_for(lambda: len(self.sizes) >= count)


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorThread]:
    thread = EmulatorThread(tmp_path / "pubsub.db", None).start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", thread.host)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, TOPIC)
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=SUBSCRIPTION, topic=topic)  # pulled in the order received
    subscriber.close()
    publisher.stop()
    yield thread
    thread.close()


def _publisher(emulator: EmulatorThread, wire: PublishRequests) -> EventPublisher:
    channel = grpc.aio.insecure_channel(emulator.host, interceptors=[wire])
    return EventPublisher(PROJECT, PublisherAsyncClient(transport=PublisherGrpcAsyncIOTransport(channel=channel)))


def _message(number: int, key: str) -> EventMessage:
    return EventMessage(str(number).encode(), {"type": "card.moved", "number": str(number)}, key)


def _pulled() -> list[PubsubMessage]:
    subscriber = pubsub_v1.SubscriberClient()
    try:
        pulled = subscriber.pull(subscription=SUBSCRIPTION, max_messages=100, timeout=10)
        return [received.message for received in pulled.received_messages]
    finally:
        subscriber.close()


async def test_messages_leave_in_submission_order_batched_while_a_request_is_in_flight(
    emulator: EmulatorThread,
) -> None:
    wire = PublishRequests()
    publisher = _publisher(emulator, wire)
    answers = [publisher.submit(TOPIC, _message(0, "card-1"))]
    await wire.in_flight(1)  # a lone message leaves at once
    answers += [publisher.submit(TOPIC, _message(n, "card-1")) for n in range(1, 30)]
    wire.release.set()
    message_ids = await asyncio.gather(*answers)
    await publisher.close()

    assert wire.sizes == [1, 29]  # those submitted while it was in flight went together
    pulled = _pulled()
    assert [m.data.decode() for m in pulled] == [str(n) for n in range(30)]
    assert [m.message_id for m in pulled] == message_ids
    assert {m.ordering_key for m in pulled} == {"card-1"}


async def test_a_refused_request_fails_the_messages_waiting_on_its_ordering_keys(emulator: EmulatorThread) -> None:
    wire = PublishRequests(refuse=1)
    publisher = _publisher(emulator, wire)
    first = publisher.submit(TOPIC, _message(1, "card-1"))
    await wire.in_flight(1)
    same_key = publisher.submit(TOPIC, _message(2, "card-1"))
    other_key = publisher.submit(TOPIC, _message(3, "card-2"))
    wire.release.set()
    outcomes = await asyncio.gather(first, same_key, other_key, return_exceptions=True)
    await publisher.close()

    assert isinstance(outcomes[0], PermissionDenied)
    assert isinstance(outcomes[1], PermissionDenied)  # it would have overtaken the refused message
    assert isinstance(outcomes[2], str)
    assert wire.sizes == [1, 1]
    assert [m.data.decode() for m in _pulled()] == ["3"]


async def test_closing_lets_the_request_in_flight_finish(emulator: EmulatorThread) -> None:
    wire = PublishRequests()
    publisher = _publisher(emulator, wire)
    answer = publisher.submit(TOPIC, _message(1, ""))
    await wire.in_flight(1)
    closing = asyncio.create_task(publisher.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    wire.release.set()
    await closing
    assert answer.done()
    assert [m.data.decode() for m in _pulled()] == ["1"]
