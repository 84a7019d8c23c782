"""Lifespan wiring shared by every service: publisher, outbox relay, and the pull consumers' loops."""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext
from google.pubsub_v1 import SubscriberAsyncClient
from sqlalchemy import Table

from agentworks_pubsub.loops import start_loop
from agentworks_pubsub.outbox import Outbox, OutboxRelay
from agentworks_pubsub.publisher import EventPublisher, MessageSink
from agentworks_pubsub.pull import PullConsumer, subscriber_client


async def start_outbox(
    ctx: ServiceContext,
    stack: AsyncExitStack,
    table: Table,
    sink: MessageSink | None = None,
    sweep_interval: float = 1.0,
    outbox: Outbox | None = None,
) -> Outbox:
    """Create the publisher and a relay that sweeps the outbox for the service's lifetime.

    Pass ``outbox`` to bind one created earlier (event handlers built before the lifespan hold it)."""
    if sink is None:
        publisher = EventPublisher(ctx.settings.gcp_project)
        stack.push_async_callback(publisher.close)
        sink = publisher
    relay = OutboxRelay(ctx.db, table, sink)
    start_loop(stack, relay, relay.run(sweep_interval), f"{ctx.settings.service_name}-outbox-relay")
    if outbox is None:
        outbox = Outbox(table)
    outbox.relay = relay
    stack.push_async_callback(outbox.drain)
    return outbox


async def start_pull(
    ctx: ServiceContext, stack: AsyncExitStack, consumer: PullConsumer, client: SubscriberAsyncClient | None = None
) -> None:
    """Run ``consumer`` for the service's lifetime; at shutdown it finishes its batch, then the client closes."""
    client = client or subscriber_client()
    stack.push_async_callback(client.transport.close)
    path = f"projects/{ctx.settings.gcp_project}/subscriptions/{consumer.subscription.name}"
    start_loop(stack, consumer, consumer.run(ctx.db, client, path), f"pull-{consumer.subscription.name}")
