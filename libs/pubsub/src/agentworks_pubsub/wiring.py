"""Lifespan wiring shared by every service: publisher, outbox relay, and the push receiver's router."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext
from sqlalchemy import Table

from agentworks_pubsub.outbox import Outbox, OutboxRelay
from agentworks_pubsub.publisher import EventPublisher, MessageSink

OUTBOX_KEY = "outbox"


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
        stack.callback(publisher.close)
        sink = publisher
    relay = OutboxRelay(ctx.db, table, sink)
    sweeping = asyncio.create_task(relay.run(sweep_interval), name=f"{ctx.settings.service_name}-outbox-relay")
    stack.push_async_callback(relay.stop, sweeping)
    if outbox is None:
        outbox = Outbox(table)
    outbox.relay = relay
    stack.push_async_callback(outbox.drain)
    ctx.extras[OUTBOX_KEY] = outbox
    return outbox


def outbox_of(ctx: ServiceContext) -> Outbox:
    outbox: Outbox = ctx.extras[OUTBOX_KEY]
    return outbox
