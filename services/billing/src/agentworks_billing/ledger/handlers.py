"""Billing's reaction to usage-events, pulled in batches: each batch is applied to the ledger in the consumer's
transaction, with its inbox rows."""

from __future__ import annotations

from collections.abc import Sequence

from agentworks_pubsub import BatchHandler, Delivery
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.config import BillingSettings
from agentworks_billing.ledger import service
from agentworks_billing.ledger.budgets import BudgetWatch
from agentworks_billing.ledger.spikes import SpikeChecks


def usage_handler(watch: BudgetWatch, spikes: SpikeChecks, settings: BillingSettings) -> BatchHandler:
    """The usage-events consumer's handler: usage.recorded meters a call, usage.run_settled charges a run."""

    async def on_usage_events(session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
        await service.apply(session, deliveries, watch, spikes, settings)

    return on_usage_events
