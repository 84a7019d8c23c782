"""AgentWorks billing.

Usage ledger, run charges, invoices, budgets and Stripe.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_pubsub import PushReceiver, load_topology
from agentworks_pubsub.wiring import start_outbox
from fastapi import FastAPI

from agentworks_billing import models
from agentworks_billing.config import BillingSettings


def create_app(settings: BillingSettings | None = None) -> FastAPI:
    """Build the billing service (uvicorn ``--factory`` entry point)."""
    settings = settings or BillingSettings()
    receiver = PushReceiver(load_topology(), settings.service_name, models.inbox)

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        await start_outbox(ctx, stack, models.outbox)

    return create_service_app(
        settings,
        title="AgentWorks billing",
        description=__doc__ or "",
        routers=[receiver.router()],
        setup=setup,
    )
