"""Usage-events into the ledger: metering rows, run charges, then the budget and cost-spike checks they trigger."""

from __future__ import annotations

import math
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from agentworks_events import UsageRecorded, UsageRunSettled, utc_now
from agentworks_platform.clock import as_utc
from agentworks_platform.logging import get_logger
from agentworks_pubsub import PushMessage
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.ledger import repository
from agentworks_billing.ledger.budgets import BudgetWatch

log = get_logger(__name__)
AVERAGE_PLACES = Decimal("1e-10")
MAX_TRACKED = 100_000


def period_of(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m")


class Ledger:
    """Consumes usage-events; every write is keyed so any number of deliveries leaves one ledger."""

    def __init__(self, budgets: BudgetWatch, spike_ratio: Decimal, spike_check_seconds: float) -> None:
        self.budgets = budgets
        self.spike_ratio = spike_ratio
        self.spike_check_seconds = spike_check_seconds
        self._spike_checked: dict[tuple[UUID, date], float] = {}

    async def on_recorded(self, session: AsyncSession, event: UsageRecorded, _push: PushMessage) -> None:
        occurred = as_utc(event.occurred_at)
        values = {
            **event.model_dump(
                include={
                    "workspace_id", "project_id", "run_id", "card_id", "agent", "provider", "model",
                    "requested_provider", "input_tokens", "output_tokens", "images", "cost", "latency_ms",
                    "attempt", "outcome",
                }
            ),
            "event_id": event.id,
            "occurred_at": occurred,
            "day": occurred.date(),
        }  # fmt: skip
        if await repository.add_usage(session, values) and event.cost > 0 and self._spike_check_due(event):
            await self._check_spike(session, event)

    async def on_settled(self, session: AsyncSession, event: UsageRunSettled, _push: PushMessage) -> None:
        occurred = as_utc(event.occurred_at)
        values = {
            **event.model_dump(
                include={
                    "run_id", "workspace_id", "project_id", "card_id", "agent", "run_status", "cost", "markup",
                    "increment", "unrounded_amount", "price", "provider_calls",
                }
            ),
            "event_id": event.id,
            "occurred_at": occurred,
            "day": occurred.date(),
            "period": period_of(occurred),
            "invoice_id": None,
        }  # fmt: skip
        if not await repository.add_charge(session, values) or event.price <= 0:
            return
        for budget in await repository.budgets_for(session, event.workspace_id, event.project_id):
            await self.budgets.evaluate(session, budget, period_of(occurred), event.project_id)

    def _spike_check_due(self, event: UsageRecorded) -> bool:
        """At most one check per workspace and day every ``spike_check_seconds`` (the sums cover days of rows)."""
        key, now = (event.workspace_id, as_utc(event.occurred_at).date()), time.monotonic()
        if now - self._spike_checked.get(key, -math.inf) < self.spike_check_seconds:
            return False
        if len(self._spike_checked) > MAX_TRACKED:
            self._spike_checked.clear()
        self._spike_checked[key] = now
        return True

    async def _check_spike(self, session: AsyncSession, event: UsageRecorded) -> None:
        day = as_utc(event.occurred_at).date()
        today, trailing = await repository.day_and_trailing_cost(session, event.workspace_id, day)
        average = (trailing / repository.TRAILING_DAYS).quantize(AVERAGE_PLACES)
        if trailing <= 0 or today <= average * self.spike_ratio:
            return
        alert = {
            "workspace_id": event.workspace_id,
            "day": day,
            "day_cost": today,
            "trailing_average": average,
            "created_at": utc_now(),
        }
        if await repository.add_cost_alert(session, alert):
            log.warning(
                "billing.cost_spike",
                workspace_id=str(event.workspace_id),
                day=day.isoformat(),
                day_cost=str(today),
                trailing_average=str(average),
            )

    def handlers(self) -> dict[str, dict[str, Any]]:
        return {"billing-usage-events": {"usage.recorded": self.on_recorded, "usage.run_settled": self.on_settled}}
