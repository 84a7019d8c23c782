"""Usage-events into the ledger: metering rows, run charges, then the budget and cost-spike checks they trigger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from agentworks_events import UsageRecorded, UsageRunSettled, utc_now
from agentworks_platform.clock import as_utc
from agentworks_platform.logging import get_logger
from agentworks_pubsub import Delivery, PermanentEventError
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.accounts import service as accounts
from agentworks_billing.config import BillingSettings
from agentworks_billing.ledger import repository
from agentworks_billing.ledger.budgets import NO_PROJECT, BudgetWatch
from agentworks_billing.ledger.spikes import SpikeChecks

log = get_logger(__name__)
AVERAGE_PLACES = Decimal("1e-10")
USAGE_FIELDS = {
    "workspace_id", "project_id", "run_id", "card_id", "agent", "provider", "model", "requested_provider",
    "input_tokens", "output_tokens", "images", "cost", "latency_ms", "attempt", "outcome", "api_key_id",
}  # fmt: skip
CHARGE_FIELDS = {
    "run_id", "workspace_id", "project_id", "card_id", "agent", "run_status", "cost", "markup", "increment",
    "unrounded_amount", "price", "provider_calls",
}  # fmt: skip


def period_of(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m")


async def apply(
    session: AsyncSession,
    deliveries: Sequence[Delivery],
    watch: BudgetWatch,
    spikes: SpikeChecks,
    settings: BillingSettings,
) -> None:
    """The ledger rows of a batch of usage events, then the budget and spike checks they call for. Every write
    is keyed, so any number of deliveries leaves one ledger."""
    recorded = [d.event for d in deliveries if isinstance(d.event, UsageRecorded)]
    settled = [d.event for d in deliveries if isinstance(d.event, UsageRunSettled)]
    await _ensure_runs_stay_put([*recorded, *settled], session)
    if recorded:
        await _meter(session, recorded, watch, spikes, settings)
    if settled:
        await _charge(session, settled, watch)


async def _meter(
    session: AsyncSession,
    events: list[UsageRecorded],
    watch: BudgetWatch,
    spikes: SpikeChecks,
    settings: BillingSettings,
) -> None:
    markups = {
        workspace: await accounts.markup(session, settings, workspace)
        for workspace in {e.workspace_id for e in events if e.api_key_id is not None}
    }
    rows = [_usage_row(event, markups.get(event.workspace_id)) for event in events]
    added = set(await repository.add_usages(session, rows))
    due: dict[tuple[UUID, date], UsageRecorded] = {}
    for event in events:
        key = (event.workspace_id, as_utc(event.occurred_at).date())
        if event.id in added and event.cost > 0 and key not in due and spikes.due(*key):
            due[key] = event
    for event in due.values():
        await _check_spike(session, event, settings.spike_ratio)
    api_charged = [e for e in events if e.id in added and e.api_key_id is not None and e.cost > 0]
    await _evaluate_budgets(session, watch, {(e.workspace_id, None, period_of(e.occurred_at)) for e in api_charged})


async def _charge(session: AsyncSession, events: list[UsageRunSettled], watch: BudgetWatch) -> None:
    """Charges, then each budget the new charges count towards, evaluated once per batch."""
    rows = [_ledger_row(e, CHARGE_FIELDS, period=period_of(e.occurred_at), invoice_id=None) for e in events]
    charged = set(await repository.add_charges(session, rows))
    priced = [e for e in events if e.run_id in charged and e.price > 0]
    await _evaluate_budgets(session, watch, {(e.workspace_id, e.project_id, period_of(e.occurred_at)) for e in priced})


async def _evaluate_budgets(
    session: AsyncSession, watch: BudgetWatch, touched: set[tuple[UUID, UUID | None, str]]
) -> None:
    """Each budget that new charges of (workspace, project or None for API calls, period) count towards."""
    scopes = sorted(touched, key=str)
    if not scopes:
        return
    budgets = await repository.lock_budgets(session, {(workspace, project) for workspace, project, _ in scopes})
    for budget in budgets:
        periods: dict[str, UUID] = {}  # each period the budget counts in, and a project to name
        for workspace_id, project_id, period in scopes:
            if budget.workspace_id == workspace_id and budget.scope_id in (workspace_id, project_id):
                periods.setdefault(period, project_id or NO_PROJECT)
        for period, project_id in periods.items():
            await watch.evaluate(session, budget, period, project_id)


async def _check_spike(session: AsyncSession, event: UsageRecorded, spike_ratio: Decimal) -> None:
    day = as_utc(event.occurred_at).date()
    today, trailing = await repository.day_and_trailing_cost(session, event.workspace_id, day)
    average = (trailing / repository.TRAILING_DAYS).quantize(AVERAGE_PLACES)
    if trailing <= 0 or today <= average * spike_ratio:
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


async def _ensure_runs_stay_put(events: Sequence[UsageRecorded | UsageRunSettled], session: AsyncSession) -> None:
    """A run's usage and charge belong to one workspace and project: the first the ledger saw for it.

    Raised for the batch, the consumer retries its events one by one, so only the event that names a run
    of another workspace (or project) is rejected."""
    runs = {e.run_id for e in events if e.run_id is not None}
    if not runs:
        return
    tenants = await repository.run_tenants(session, runs)
    tenants.update((e.run_id, e.workspace_id, e.project_id) for e in events if e.run_id is not None)
    claimed: dict[UUID, tuple[UUID, UUID | None]] = {}
    for run, workspace, project in tenants:
        if claimed.setdefault(run, (workspace, project)) != (workspace, project):
            raise PermanentEventError(f"run {run} is already in the ledger of another workspace or project")


def _usage_row(event: UsageRecorded, markup: Decimal | None) -> dict[str, Any]:
    """A call made with an API key is charged with the workspace's markup of the moment it is metered."""
    if event.api_key_id is None:
        return _ledger_row(event, USAGE_FIELDS, markup=None, period=None, invoice_id=None)
    return _ledger_row(event, USAGE_FIELDS, markup=markup, period=period_of(event.occurred_at), invoice_id=None)


def _ledger_row(event: UsageRecorded | UsageRunSettled, fields: set[str], **extra: Any) -> dict[str, Any]:
    occurred = as_utc(event.occurred_at)
    return {
        **event.model_dump(include=fields),
        "event_id": event.id,
        "occurred_at": occurred,
        "day": occurred.date(),
        **extra,
    }
