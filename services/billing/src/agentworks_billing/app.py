"""AgentWorks billing.

Usage ledger, run charges, invoices, budgets and Stripe.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext, create_service_app, run_in_background
from agentworks_platform.db import Database
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import Outbox, PullConsumer, load_topology
from agentworks_pubsub.ownership import Ownership
from agentworks_pubsub.publisher import MessageSink
from agentworks_pubsub.wiring import start_outbox, start_pull
from agentworks_secrets import SecretSource
from fastapi import FastAPI

from agentworks_billing import models
from agentworks_billing.accounts import endpoints as accounts
from agentworks_billing.config import BillingSettings
from agentworks_billing.invoices import endpoints as invoices
from agentworks_billing.jobs import Jobs, secrets_for
from agentworks_billing.ledger.handlers import usage_handler
from agentworks_billing.ledger.verify import UsageOwnership
from agentworks_billing.state import BillingState
from agentworks_billing.usage import endpoints as usage

USAGE_SUBSCRIPTION = "billing-usage-events"


def create_app(
    settings: BillingSettings | None = None,
    *,
    sink: MessageSink | None = None,
    core_client: InternalClient | None = None,
    secrets: SecretSource | None = None,
) -> FastAPI:
    """Build billing (uvicorn ``--factory`` entry point); tests may pass the sink, core client and secrets."""
    settings = settings or BillingSettings()
    db = Database(settings.database_url, settings.db_pool, app_role=settings.db_app_role)
    outbox = Outbox(models.outbox)
    jobs = Jobs(settings, db, outbox, secrets or secrets_for(settings))
    usage_events = load_topology().subscription(USAGE_SUBSCRIPTION)

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        await start_outbox(ctx, stack, models.outbox, sink, outbox=outbox)
        core = core_client or InternalClient(settings.core_url, ctx.tokens)
        stack.push_async_callback(core.aclose)
        verify = UsageOwnership(Ownership(core))
        consumer = PullConsumer(
            usage_events,
            models.inbox,
            usage_handler(jobs.watch, jobs.spikes, settings),
            settings.pull_max_messages,
            verify,
        )
        await jobs.connect_payments()
        stack.push_async_callback(jobs.aclose)
        ctx.state = BillingState(outbox, core, jobs, consumer)
        if settings.pull_usage_events:
            await start_pull(ctx, stack, consumer)
        if settings.schedule_in_process:
            run_in_background(stack, jobs.run_schedule(settings.schedule_interval_seconds), "billing-schedule")

    return create_service_app(
        settings,
        title="AgentWorks billing",
        description=__doc__ or "",
        routers=[
            usage.router,
            invoices.router,
            accounts.router,
            invoices.hooks,
            accounts.internal,
            invoices.internal,
        ],
        setup=setup,
        db=db,
    )
