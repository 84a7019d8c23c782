"""Push receiver: authenticated ``/_events/<subscription>`` endpoints with the ack-code policy of DESIGN §3.

204 when processed or a duplicate; 204 plus a structured error log for a permanent failure (it must not
loop); 401/403 for a bad token; 5xx for a transient failure so Pub/Sub retries with backoff. Before any
effect, a message whose ``type`` attribute disagrees with its event, or an event its subscription's verifier
refuses (ids of another workspace), is a permanent failure recorded in the inbox as ``rejected``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentworks_events import Event, UnknownEventError, parse_event, utc_now
from agentworks_platform.app import ServiceContext, context_of
from agentworks_platform.db import insert_ignoring_conflicts, is_unique_violation
from agentworks_platform.logging import get_logger
from agentworks_platform.service_auth import TokenError, bearer_token
from fastapi import APIRouter, Request, Response
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_pubsub.topology import Subscription, Topology

log = get_logger(__name__)
tracer = trace.get_tracer(__name__)
MAX_ENVELOPE_BYTES = 10 * 1024 * 1024


class PermanentEventError(Exception):
    """Raised by a handler for an event that can never be processed; it is acked and logged, not retried."""


@dataclass(frozen=True, slots=True)
class PushMessage:
    """The parts of a delivered message (a push envelope or a pulled message) a handler may need besides
    the event itself."""

    subscription: str
    message_id: str
    attributes: Mapping[str, str]
    ordering_key: str
    delivery_attempt: int
    publish_time: str


Handler = Callable[[AsyncSession, Any, PushMessage], Awaitable[None]]
HandlerMap = Mapping[str, Mapping[str, Handler]]
"""subscription name → event type → handler. A type with no handler is validated and recorded only."""

Verifier = Callable[[ServiceContext, Any], Awaitable[None]]
VerifierMap = Mapping[str, Verifier]
"""subscription name → a check, before the event's transaction, that the ids it names belong to its workspace
(and project): it raises PermanentEventError on a mismatch, anything else when it cannot tell yet."""

Worker = Callable[[ServiceContext, Any, PushMessage], Awaitable[None]]
WorkerMap = Mapping[str, Mapping[str, Worker]]
"""For long work (agent runs): the worker manages its own short transactions and must be idempotent; the
event is recorded in the inbox only once it returns, so a crash mid-way means redelivery, not loss."""


class MalformedEnvelopeError(ValueError):
    pass


def parse_envelope(body: bytes, subscription: Subscription) -> tuple[bytes, PushMessage]:
    """Decode a Pub/Sub push body (JSON; ``message.data`` base64) into the data and its metadata."""
    try:
        envelope = json.loads(body)
        message = envelope["message"]
        data = base64.b64decode(message.get("data", ""), validate=True)
        attributes = message.get("attributes") or {}
        message_id = str(message.get("messageId") or message.get("message_id") or "")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise MalformedEnvelopeError(f"not a Pub/Sub push envelope: {type(exc).__name__}") from None
    if not message_id or not isinstance(attributes, dict):
        raise MalformedEnvelopeError("envelope lacks messageId or has malformed attributes")
    return data, PushMessage(
        subscription=subscription.name,
        message_id=message_id,
        attributes=attributes,
        ordering_key=str(message.get("orderingKey") or message.get("ordering_key") or ""),
        delivery_attempt=int(envelope.get("deliveryAttempt") or 1),
        publish_time=str(message.get("publishTime") or message.get("publish_time") or ""),
    )


class PushReceiver:
    """Builds the push endpoints of one service from the topology and records every event in its inbox."""

    def __init__(
        self,
        topology: Topology,
        service: str,
        inbox: Table,
        handlers: HandlerMap | None = None,
        workers: WorkerMap | None = None,
        verifiers: VerifierMap | None = None,
    ) -> None:
        self.subscriptions = topology.push_subscriptions(service)
        self.inbox = inbox
        self.handlers = handlers or {}
        self.workers = workers or {}
        self.verifiers = verifiers or {}

    def router(self) -> APIRouter:
        router = APIRouter(tags=["events"], include_in_schema=True)
        for subscription in self.subscriptions:
            router.add_api_route(
                subscription.push_path or "",
                self._endpoint(subscription),
                methods=["POST"],
                status_code=204,
                response_class=Response,
                name=f"push:{subscription.name}",
                summary=f"Pub/Sub push endpoint for {subscription.name} ({subscription.topic})",
            )
        return router

    def _endpoint(self, subscription: Subscription) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
            return await self.handle(context_of(request), subscription, request)

        return receive

    async def handle(self, ctx: ServiceContext, subscription: Subscription, request: Request) -> Response:
        try:
            token = bearer_token(request.headers.get("authorization"))
            await ctx.verifier.verify(token, allowed_emails=[ctx.settings.pubsub_push_email])
        except TokenError as exc:
            log.warning("push.unauthorized", subscription=subscription.name, reason=exc.reason)
            return Response(status_code=exc.status)
        body = await request.body()
        if len(body) > MAX_ENVELOPE_BYTES:
            return self._drop(subscription, "envelope too large", None)
        try:
            data, push = parse_envelope(body, subscription)
        except MalformedEnvelopeError as exc:
            return self._drop(subscription, str(exc), None)
        with tracer.start_as_current_span(
            f"consume {subscription.name}", context=extract(dict(push.attributes)), kind=SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.message.id", push.message_id)
            try:
                event = parse_event(subscription.topic, data)
            except UnknownEventError as exc:
                return self._drop(subscription, str(exc), push)
            span.set_attribute("messaging.event.type", event.type)
            return await self._process(ctx, subscription, event, push)

    async def _process(
        self, ctx: ServiceContext, subscription: Subscription, event: Event, push: PushMessage
    ) -> Response:
        worker = self.workers.get(subscription.name, {}).get(event.type)
        handler = self.handlers.get(subscription.name, {}).get(event.type)
        try:
            await self._verify(ctx, subscription, event, push)
            if worker is not None:
                done = await _again_after_a_race(lambda: self._run_worker(ctx, subscription, event, push, worker))
            else:
                done = await _again_after_a_race(lambda: self._run_handler(ctx, subscription, event, push, handler))
        except PermanentEventError as exc:
            await self._record_rejection(ctx, subscription, event, push, str(exc))
            return self._drop(subscription, str(exc), push, event)
        except Exception as exc:
            log.exception(
                "push.transient_failure",
                subscription=subscription.name,
                event_id=str(event.id),
                event_type=event.type,
                delivery_attempt=push.delivery_attempt,
                error=type(exc).__name__,
            )
            return Response(status_code=503)
        if not done:
            log.info("push.duplicate", subscription=subscription.name, event_id=str(event.id))
        else:
            log.info(
                "push.processed",
                subscription=subscription.name,
                event_id=str(event.id),
                event_type=event.type,
                delivery_attempt=push.delivery_attempt,
            )
        return Response(status_code=204)

    async def _verify(self, ctx: ServiceContext, subscription: Subscription, event: Event, push: PushMessage) -> None:
        reason = mislabelled(event, push)
        if reason is not None:
            raise PermanentEventError(reason)
        verifier = self.verifiers.get(subscription.name)
        if verifier is not None:
            await verifier(ctx, event)

    async def _run_handler(
        self, ctx: ServiceContext, subscription: Subscription, event: Event, push: PushMessage, handler: Handler | None
    ) -> bool:
        """Inbox row and effect in one transaction; False for a duplicate."""
        async with ctx.db.transaction() as session:
            if not await self._claim(session, subscription, event, push, outcome="processed"):
                return False
            if handler is not None:
                await handler(session, event, push)
        return True

    async def _run_worker(
        self, ctx: ServiceContext, subscription: Subscription, event: Event, push: PushMessage, worker: Worker
    ) -> bool:
        """Long work first, inbox row after it, so a crash mid-way means redelivery; False for a duplicate."""
        async with ctx.db.transaction() as session:
            seen = await session.execute(
                select(self.inbox.c.event_id).where(
                    self.inbox.c.subscription == subscription.name, self.inbox.c.event_id == str(event.id)
                )
            )
            if seen.first() is not None:
                return False
        await worker(ctx, event, push)
        async with ctx.db.transaction() as session:
            await self._claim(session, subscription, event, push, outcome="processed")
        return True

    async def _claim(
        self,
        session: AsyncSession,
        subscription: Subscription,
        event: Event,
        push: PushMessage,
        *,
        outcome: str,
        detail: str | None = None,
    ) -> bool:
        """Insert the inbox row first; a concurrent or earlier delivery makes this a no-op."""
        return await insert_ignoring_conflicts(
            session, self.inbox, inbox_row(subscription, event, push, outcome, detail)
        )

    async def _record_rejection(
        self, ctx: ServiceContext, subscription: Subscription, event: Event, push: PushMessage, reason: str
    ) -> None:
        async with ctx.db.transaction() as session:
            await self._claim(session, subscription, event, push, outcome="rejected", detail=reason)

    @staticmethod
    def _drop(
        subscription: Subscription, reason: str, push: PushMessage | None, event: Event | None = None
    ) -> Response:
        log_permanent_failure(subscription, reason, push, event)
        return Response(status_code=204)


async def _again_after_a_race(run: Callable[[], Awaitable[bool]]) -> bool:
    """Run the event's transaction; when it lost a race to create a row another handler created meanwhile (a
    unique violation), run it once more: the row now exists, so the event takes the path it takes for any
    existing row (a duplicate, or an update) instead of failing as transient."""
    try:
        return await run()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        log.info("push.creation_race", error=str(exc.orig)[:200])
        return await run()


def mislabelled(event: Event, message: PushMessage) -> str | None:
    """Why the message's ``type`` attribute cannot be trusted, or None when it names the event's type.

    Subscription filters route on the attribute alone, so a message labelled with another type reached
    consumers that were not meant to have it (and missed those that were): it is refused, never applied."""
    label = message.attributes.get("type")
    if label == event.type:
        return None
    return f"the message's type attribute {label!r} disagrees with its event's type {event.type!r}"


def inbox_row(
    subscription: Subscription, event: Event, message: PushMessage, outcome: str, detail: str | None = None
) -> dict[str, Any]:
    """The inbox row recording that ``event`` was processed (or rejected) for ``subscription``."""
    return {
        "subscription": subscription.name,
        "event_id": str(event.id),
        "event_type": event.type,
        "message_id": message.message_id,
        "delivery_attempt": message.delivery_attempt,
        "outcome": outcome,
        "detail": detail[:1000] if detail else None,
        "processed_at": utc_now(),
    }


def log_permanent_failure(
    subscription: Subscription,
    reason: str,
    message: PushMessage | None,
    event: Event | None = None,
    *,
    delivery: str = "push",
) -> None:
    """The structured error of an event acknowledged without its effect (it must not loop)."""
    log.error(
        f"{delivery}.permanent_failure",
        subscription=subscription.name,
        reason=reason,
        message_id=message.message_id if message else None,
        event_id=str(event.id) if event else None,
        event_type=event.type if event else None,
        type_attribute=message.attributes.get("type") if message else None,
    )
