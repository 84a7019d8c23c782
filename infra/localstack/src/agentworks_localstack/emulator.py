"""A Pub/Sub emulator speaking the real gRPC API, durable in SQLite, with push delivery.

Push subscriptions get the real JSON envelope and an OIDC token signed with the local key; ack codes,
exponential retry backoff, max delivery attempts → dead-letter topic and ordering keys behave as on
Google Cloud. Pull, StreamingPull, Acknowledge and ModifyAckDeadline serve the client library.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from agentworks_platform.logging import get_logger
from agentworks_platform.service_auth import LocalTokenSigner
from google.protobuf import empty_pb2
from google.pubsub_v1 import types

from agentworks_localstack.filters import FilterError, compile_filter
from agentworks_localstack.grpc_util import AbortError, unary
from agentworks_localstack.push_client import PushClient, PushFailedError
from agentworks_localstack.store import Lease, Store

log = get_logger(__name__)
PUSH_SUCCESS = frozenset({102, 200, 201, 202, 204})
DEFAULT_MIN_BACKOFF = 10.0
DEFAULT_MAX_BACKOFF = 600.0
PUSH_CONCURRENCY = 32
LONG_POLL_SECONDS = 1.0
TOKEN_REUSE_SECONDS = 50 * 60


def _seconds(value: Any, default: float) -> float:
    total = value.total_seconds() if hasattr(value, "total_seconds") else 0.0
    return float(total) if total > 0 else default


def backoff_seconds(subscription: types.Subscription, attempt: int) -> float:
    """Exponential backoff from the retry policy: min × 2^(attempt-1), capped at max."""
    if "retry_policy" not in subscription:
        return DEFAULT_MIN_BACKOFF
    policy = subscription.retry_policy
    low = _seconds(policy.minimum_backoff, DEFAULT_MIN_BACKOFF)
    high = _seconds(policy.maximum_backoff, DEFAULT_MAX_BACKOFF)
    return float(min(high, low * (2 ** max(attempt - 1, 0))))


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Emulator:
    """The Pub/Sub service: state in ``Store``, one push loop per push subscription."""

    def __init__(self, store: Store, signer: LocalTokenSigner | None = None) -> None:
        self.store = store
        self.signer = signer
        self.pusher = PushClient()
        self._wake: dict[str, asyncio.Event] = {}
        self._push_tasks: dict[str, asyncio.Task[None]] = {}
        self._inflight: dict[str, set[asyncio.Task[None]]] = {}
        self.port = 0
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    # ---- lifecycle ----

    async def start(self) -> None:
        for body in self.store.subscriptions():
            self.watch(types.Subscription.deserialize(body))

    async def stop(self) -> None:
        tasks = list(self._push_tasks.values()) + [t for s in self._inflight.values() for t in s]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._push_tasks.clear()
        await self.pusher.aclose()

    def _wake_event(self, subscription: str) -> asyncio.Event:
        return self._wake.setdefault(subscription, asyncio.Event())

    def watch(self, subscription: types.Subscription) -> None:
        self._wake_event(subscription.name)
        task = self._push_tasks.pop(subscription.name, None)
        if task:
            task.cancel()
        if subscription.push_config.push_endpoint:
            self._push_tasks[subscription.name] = asyncio.create_task(self._push_loop(subscription.name))

    # ---- publisher ----

    def create_topic(self, topic: types.Topic) -> types.Topic:
        if not self.store.put_topic(topic.name, types.Topic.serialize(topic), create=True):
            raise AbortError(grpc.StatusCode.ALREADY_EXISTS, "Topic already exists")
        return topic

    def get_topic(self, name: str) -> types.Topic:
        body = self.store.topic(name)
        if body is None:
            raise AbortError(grpc.StatusCode.NOT_FOUND, "Topic not found")
        topic: types.Topic = types.Topic.deserialize(body)
        return topic

    def publish(self, request: types.PublishRequest) -> types.PublishResponse:
        self.get_topic(request.topic)
        if not request.messages:
            raise AbortError(grpc.StatusCode.INVALID_ARGUMENT, "No messages in the publish request")
        subscriptions = [types.Subscription.deserialize(b) for b in self.store.subscriptions(topic=request.topic)]
        matchers = [(s.name, compile_filter(s.filter)) for s in subscriptions]
        batch = [(m.data, dict(m.attributes), m.ordering_key) for m in request.messages]
        targets = [[name for name, accepts in matchers if accepts(attrs)] for _data, attrs, _key in batch]
        ids = self.store.publish(request.topic, batch, targets)
        for name, _ in matchers:
            self._wake_event(name).set()
        return types.PublishResponse(message_ids=[str(i) for i in ids])

    # ---- subscriber admin ----

    def create_subscription(self, subscription: types.Subscription) -> types.Subscription:
        self.get_topic(subscription.topic)
        self._validate(subscription)
        if not subscription.ack_deadline_seconds:
            subscription.ack_deadline_seconds = 10
        if not self.store.put_subscription(
            subscription.name, subscription.topic, types.Subscription.serialize(subscription), create=True
        ):
            raise AbortError(grpc.StatusCode.ALREADY_EXISTS, "Subscription already exists")
        self.watch(subscription)
        return subscription

    def update_subscription(self, subscription: types.Subscription) -> types.Subscription:
        current = self.get_subscription(subscription.name)
        merged = types.Subscription(current)
        types.Subscription.copy_from(merged, subscription)
        merged.topic = current.topic
        self._validate(merged)
        self.store.put_subscription(merged.name, merged.topic, types.Subscription.serialize(merged), create=False)
        self.watch(merged)
        return merged

    def _validate(self, subscription: types.Subscription) -> None:
        try:
            compile_filter(subscription.filter)
        except FilterError as exc:
            raise AbortError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid filter: {exc}") from None
        policy = subscription.dead_letter_policy
        if policy.dead_letter_topic and not 5 <= (policy.max_delivery_attempts or 5) <= 100:
            raise AbortError(grpc.StatusCode.INVALID_ARGUMENT, "max_delivery_attempts must be between 5 and 100")

    def get_subscription(self, name: str) -> types.Subscription:
        body = self.store.subscription(name)
        if body is None:
            raise AbortError(grpc.StatusCode.NOT_FOUND, "Subscription does not exist")
        subscription: types.Subscription = types.Subscription.deserialize(body)
        return subscription

    def delete_subscription(self, name: str) -> None:
        if not self.store.delete_subscription(name):
            raise AbortError(grpc.StatusCode.NOT_FOUND, "Subscription does not exist")
        task = self._push_tasks.pop(name, None)
        if task:
            task.cancel()

    # ---- delivery shared by pull and push ----

    def lease(
        self, name: str, limit: int, lease_seconds: float | None = None
    ) -> list[tuple[Lease, types.Subscription]]:
        """Lease due messages; those past max delivery attempts go to the dead-letter topic instead."""
        subscription = self.get_subscription(name)
        seconds = lease_seconds or subscription.ack_deadline_seconds or 10
        leases = self.store.lease(
            name, limit=limit, lease_seconds=seconds, ordered=subscription.enable_message_ordering
        )
        ready = []
        for lease in leases:
            if self._exhausted(subscription, lease.attempt - 1):
                self._dead_letter(subscription, lease, lease.attempt - 1)
            else:
                ready.append((lease, subscription))
        return ready

    @staticmethod
    def _exhausted(subscription: types.Subscription, attempts_made: int) -> bool:
        policy = subscription.dead_letter_policy
        limit = policy.max_delivery_attempts or 5
        return bool(policy.dead_letter_topic) and attempts_made >= limit

    def _dead_letter(self, subscription: types.Subscription, lease: Lease, deliveries: int) -> None:
        message = lease.message
        attributes = dict(message.attributes)
        project = subscription.name.split("/")[1]
        attributes.update(
            {
                "CloudPubSubDeadLetterSourceDeliveryCount": str(deliveries),
                "CloudPubSubDeadLetterSourceSubscription": subscription.name.rsplit("/", 1)[-1],
                "CloudPubSubDeadLetterSourceSubscriptionProject": project,
                "CloudPubSubDeadLetterSourceTopicPublishTime": _timestamp(message.publish_time),
            }
        )
        request = types.PublishRequest(
            topic=subscription.dead_letter_policy.dead_letter_topic,
            messages=[types.PubsubMessage(data=message.data, attributes=attributes, ordering_key=message.ordering_key)],
        )
        try:
            self.publish(request)
        except AbortError as exc:
            log.error("emulator.dead_letter_failed", subscription=subscription.name, reason=exc.message)
            self.store.nack([lease.ack_id], backoff_seconds(subscription, lease.attempt))
            return
        self.store.ack([lease.ack_id])
        log.warning(
            "emulator.dead_lettered",
            subscription=subscription.name,
            message_id=message.id,
            attempts=deliveries,
        )

    def received(self, lease: Lease, subscription: types.Subscription) -> types.ReceivedMessage:
        message = lease.message
        received = types.ReceivedMessage(
            ack_id=lease.ack_id,
            message=types.PubsubMessage(
                data=message.data,
                attributes=message.attributes,
                message_id=str(message.id),
                ordering_key=message.ordering_key,
                publish_time=datetime.fromtimestamp(message.publish_time, UTC),
            ),
        )
        if subscription.dead_letter_policy.dead_letter_topic:
            received.delivery_attempt = lease.attempt
        return received

    def nack(self, name: str, ack_ids: list[str]) -> None:
        subscription = self.get_subscription(name)
        for ack_id in ack_ids:
            attempt = self.store.attempts_of(ack_id)
            self.store.nack([ack_id], backoff_seconds(subscription, attempt) if attempt > 1 else 0.0)
        self._wake_event(name).set()

    def modify_ack_deadline(self, name: str, ack_ids: list[str], seconds: int) -> None:
        if seconds == 0:
            self.nack(name, ack_ids)
        else:
            self.store.extend(ack_ids, seconds)

    def acknowledge(self, name: str, ack_ids: list[str]) -> None:
        self.store.ack(ack_ids)
        self._wake_event(name).set()

    async def wait_for_messages(self, name: str, wait_seconds: float) -> None:
        event = self._wake_event(name)
        due = self.store.next_due(name)
        if due is not None:
            wait_seconds = max(0.0, min(wait_seconds, due - time.time()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), wait_seconds)
        event.clear()

    # ---- push ----

    async def _push_loop(self, name: str) -> None:
        inflight = self._inflight.setdefault(name, set())
        wake = self._wake_event(name)
        while True:
            if len(inflight) >= PUSH_CONCURRENCY:
                # Full: only a finished push frees a slot (and sets ``wake``), so there is nothing to look up.
                await wake.wait()
                wake.clear()
                continue
            try:
                leases = self.lease(name, PUSH_CONCURRENCY - len(inflight))
            except AbortError:
                return
            for lease, subscription in leases:
                task = asyncio.create_task(self._push_one(lease, subscription))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                task.add_done_callback(lambda _t: self._wake_event(name).set())
            if not leases:
                await self.wait_for_messages(name, 1.0)

    async def _push_one(self, lease: Lease, subscription: types.Subscription) -> None:
        config = subscription.push_config
        headers = {"Content-Type": "application/json"}
        if config.oidc_token.service_account_email and self.signer is not None:
            audience = config.oidc_token.audience or config.push_endpoint
            headers["Authorization"] = "Bearer " + self._token(audience, config.oidc_token.service_account_email)
        body = json.dumps(self.envelope(lease, subscription)).encode()
        try:
            status = await self.pusher.post(
                config.push_endpoint, body, headers, answer_within=subscription.ack_deadline_seconds or 10
            )
        except PushFailedError as exc:
            status = 0
            log.warning("emulator.push_unreachable", subscription=subscription.name, error=str(exc)[:200])
        if status in PUSH_SUCCESS:
            self.store.ack([lease.ack_id])
            return
        if self._exhausted(subscription, lease.attempt):
            self._dead_letter(subscription, lease, lease.attempt)
            return
        self.store.nack([lease.ack_id], backoff_seconds(subscription, lease.attempt))

    def _token(self, audience: str, email: str) -> str:
        """Tokens are reused until ten minutes before they expire, as Pub/Sub does."""
        assert self.signer is not None
        cached = self._tokens.get((audience, email))
        if cached and cached[1] > time.time():
            return cached[0]
        token = self.signer.sign(audience, email=email, sub=email)
        self._tokens[(audience, email)] = (token, time.time() + TOKEN_REUSE_SECONDS)
        return token

    def envelope(self, lease: Lease, subscription: types.Subscription) -> dict[str, Any]:
        message = lease.message
        published = _timestamp(message.publish_time)
        body: dict[str, Any] = {
            "message": {
                "data": base64.b64encode(message.data).decode(),
                "attributes": message.attributes,
                "messageId": str(message.id),
                "message_id": str(message.id),
                "publishTime": published,
                "publish_time": published,
            },
            "subscription": subscription.name,
        }
        if message.ordering_key:
            body["message"]["orderingKey"] = message.ordering_key
        if subscription.dead_letter_policy.dead_letter_topic:
            body["deliveryAttempt"] = lease.attempt
        return body


# ---- gRPC wiring ----------------------------------------------------------------------------


def _page(items: list[Any], token: str, size: int) -> tuple[list[Any], str]:
    start = int(token) if token.isdigit() else 0
    size = size or 100
    end = start + size
    return items[start:end], (str(end) if end < len(items) else "")


def _project_prefix(project: str, kind: str) -> str:
    return f"{project}/{kind}/"


class GrpcServices:
    """Maps the Publisher and Subscriber RPCs onto the emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.e = emulator

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        e, t, empty = self.e, types, empty_pb2.Empty
        publisher = {
            "CreateTopic": unary(e.create_topic, t.Topic, t.Topic),
            "GetTopic": unary(lambda r: e.get_topic(r.topic), t.GetTopicRequest, t.Topic),
            "UpdateTopic": unary(self._update_topic, t.UpdateTopicRequest, t.Topic),
            "Publish": unary(e.publish, t.PublishRequest, t.PublishResponse),
            "ListTopics": unary(self._list_topics, t.ListTopicsRequest, t.ListTopicsResponse),
            "ListTopicSubscriptions": unary(
                self._topic_subscriptions, t.ListTopicSubscriptionsRequest, t.ListTopicSubscriptionsResponse
            ),
            "DeleteTopic": unary(self._delete_topic, t.DeleteTopicRequest, empty),
        }
        subscriber = {
            "CreateSubscription": unary(e.create_subscription, t.Subscription, t.Subscription),
            "GetSubscription": unary(
                lambda r: e.get_subscription(r.subscription), t.GetSubscriptionRequest, t.Subscription
            ),
            "UpdateSubscription": unary(
                lambda r: e.update_subscription(r.subscription), t.UpdateSubscriptionRequest, t.Subscription
            ),
            "ListSubscriptions": unary(
                self._list_subscriptions, t.ListSubscriptionsRequest, t.ListSubscriptionsResponse
            ),
            "DeleteSubscription": unary(self._delete_subscription, t.DeleteSubscriptionRequest, empty),
            "ModifyAckDeadline": unary(self._modify, t.ModifyAckDeadlineRequest, empty),
            "Acknowledge": unary(self._ack, t.AcknowledgeRequest, empty),
            "ModifyPushConfig": unary(self._modify_push, t.ModifyPushConfigRequest, empty),
            "Pull": grpc.unary_unary_rpc_method_handler(
                self._pull,
                request_deserializer=t.PullRequest.deserialize,
                response_serializer=t.PullResponse.serialize,
            ),
            "StreamingPull": grpc.stream_stream_rpc_method_handler(
                self._streaming_pull,
                request_deserializer=t.StreamingPullRequest.deserialize,
                response_serializer=t.StreamingPullResponse.serialize,
            ),
        }
        return [
            grpc.method_handlers_generic_handler("google.pubsub.v1.Publisher", publisher),
            grpc.method_handlers_generic_handler("google.pubsub.v1.Subscriber", subscriber),
        ]

    def _update_topic(self, request: types.UpdateTopicRequest) -> types.Topic:
        self.e.get_topic(request.topic.name)
        self.e.store.put_topic(request.topic.name, types.Topic.serialize(request.topic), create=False)
        return request.topic

    def _list_topics(self, request: types.ListTopicsRequest) -> types.ListTopicsResponse:
        topics = [types.Topic.deserialize(b) for b in self.e.store.topics(_project_prefix(request.project, "topics"))]
        page, token = _page(topics, request.page_token, request.page_size)
        return types.ListTopicsResponse(topics=page, next_page_token=token)

    def _topic_subscriptions(self, request: types.ListTopicSubscriptionsRequest) -> Any:
        self.e.get_topic(request.topic)
        names = [types.Subscription.deserialize(b).name for b in self.e.store.subscriptions(topic=request.topic)]
        page, token = _page(names, request.page_token, request.page_size)
        return types.ListTopicSubscriptionsResponse(subscriptions=page, next_page_token=token)

    def _delete_topic(self, request: types.DeleteTopicRequest) -> empty_pb2.Empty:
        if not self.e.store.delete_topic(request.topic):
            raise AbortError(grpc.StatusCode.NOT_FOUND, "Topic not found")
        return empty_pb2.Empty()

    def _list_subscriptions(self, request: types.ListSubscriptionsRequest) -> types.ListSubscriptionsResponse:
        prefix = _project_prefix(request.project, "subscriptions")
        subs = [types.Subscription.deserialize(b) for b in self.e.store.subscriptions(prefix)]
        page, token = _page(subs, request.page_token, request.page_size)
        return types.ListSubscriptionsResponse(subscriptions=page, next_page_token=token)

    def _delete_subscription(self, request: types.DeleteSubscriptionRequest) -> empty_pb2.Empty:
        self.e.delete_subscription(request.subscription)
        return empty_pb2.Empty()

    def _modify(self, request: types.ModifyAckDeadlineRequest) -> empty_pb2.Empty:
        self.e.modify_ack_deadline(request.subscription, list(request.ack_ids), request.ack_deadline_seconds)
        return empty_pb2.Empty()

    def _ack(self, request: types.AcknowledgeRequest) -> empty_pb2.Empty:
        self.e.acknowledge(request.subscription, list(request.ack_ids))
        return empty_pb2.Empty()

    def _modify_push(self, request: types.ModifyPushConfigRequest) -> empty_pb2.Empty:
        subscription = self.e.get_subscription(request.subscription)
        subscription.push_config = request.push_config
        self.e.store.put_subscription(
            subscription.name, subscription.topic, types.Subscription.serialize(subscription), create=False
        )
        self.e.watch(subscription)
        return empty_pb2.Empty()

    async def _pull(self, request: types.PullRequest, context: grpc.aio.ServicerContext) -> types.PullResponse:
        try:
            leases = self.e.lease(request.subscription, request.max_messages or 1)
            if not leases and not request.return_immediately:
                await self.e.wait_for_messages(request.subscription, LONG_POLL_SECONDS)
                leases = self.e.lease(request.subscription, request.max_messages or 1)
        except AbortError as exc:
            await context.abort(exc.code, exc.message)
        return types.PullResponse(received_messages=[self.e.received(lease, s) for lease, s in leases])

    async def _streaming_pull(
        self, requests: AsyncIterator[types.StreamingPullRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[types.StreamingPullResponse]:
        first = await anext(requests)
        name = first.subscription
        try:
            self.e.get_subscription(name)
        except AbortError as exc:
            await context.abort(exc.code, exc.message)
        outstanding: set[str] = set()
        limit = first.max_outstanding_messages or 1000
        deadline = first.stream_ack_deadline_seconds or 10
        self._apply(name, first, outstanding)
        reader = asyncio.create_task(self._read_stream(name, requests, outstanding))
        try:
            while not reader.done():
                leases = self.e.lease(name, min(100, limit - len(outstanding)), deadline)
                if leases:
                    outstanding.update(lease.ack_id for lease, _ in leases)
                    yield types.StreamingPullResponse(
                        received_messages=[self.e.received(lease, s) for lease, s in leases]
                    )
                else:
                    await self.e.wait_for_messages(name, 1.0)
        finally:
            reader.cancel()

    async def _read_stream(
        self, name: str, requests: AsyncIterator[types.StreamingPullRequest], outstanding: set[str]
    ) -> None:
        async for request in requests:
            self._apply(name, request, outstanding)

    def _apply(self, name: str, request: types.StreamingPullRequest, outstanding: set[str]) -> None:
        if request.ack_ids:
            self.e.acknowledge(name, list(request.ack_ids))
            outstanding.difference_update(request.ack_ids)
        for ack_id, seconds in zip(request.modify_deadline_ack_ids, request.modify_deadline_seconds, strict=False):
            self.e.modify_ack_deadline(name, [ack_id], seconds)
            if seconds == 0:
                outstanding.discard(ack_id)


async def serve(
    store_path: Path, host: str, port: int, signer: LocalTokenSigner | None
) -> tuple[grpc.aio.Server, Emulator]:
    """Start the emulator's gRPC server on the running loop; returns the server and the emulator."""
    emulator = Emulator(Store(store_path), signer)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(GrpcServices(emulator).handlers())
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the Pub/Sub emulator to {host}:{port}")
    await server.start()
    await emulator.start()
    log.info("emulator.started", address=f"{host}:{bound}", store=str(store_path))
    emulator.port = bound
    return server, emulator
