"""The billing page of a workspace: this period's charges, the invoice it would produce, budgets and alerts."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

from agentworks_events import utc_now
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.access import Access
from agentworks_billing.accounts import service as accounts
from agentworks_billing.accounts.schemas import BudgetOut
from agentworks_billing.accounts.service import current_period
from agentworks_billing.config import BillingSettings
from agentworks_billing.invoices import service
from agentworks_billing.invoices.payments import Payments
from agentworks_billing.invoices.schemas import (
    BillingOut,
    CostAlertOut,
    LineOut,
    PaymentCollection,
    PlanSummary,
    PreviewOut,
)
from agentworks_billing.ledger import repository as ledger
from agentworks_billing.ledger.budgets import BudgetWatch
from agentworks_billing.ledger.repository import AMOUNT_STEP
from agentworks_billing.usage import repository as usage

ALERT_DAYS = 30


async def _cost_alerts(session: AsyncSession, access: Access) -> list[CostAlertOut]:
    since = utc_now().date() - timedelta(days=ALERT_DAYS)
    with_cost = access.can("cost")
    return [
        CostAlertOut(
            day=alert.day,
            percent_of_average=(alert.day_cost * 100 / alert.trailing_average).quantize(Decimal("0.01")),
            day_cost=alert.day_cost if with_cost else None,
            trailing_average=alert.trailing_average if with_cost else None,
        )
        for alert in await ledger.cost_alerts_since(session, access.workspace_id, since)
    ]


async def _preview(session: AsyncSession, access: Access, minimum: Decimal) -> PreviewOut:
    bill = await service.draft(session, access.workspace_id, current_period())
    return PreviewOut(
        lines=[LineOut.model_validate(line, from_attributes=True) for line in bill.lines],
        charges=bill.charges,
        carried_in=bill.carried_in,
        total=bill.total,
        minimum_charge=minimum,
        below_minimum=bill.total < minimum,
    )


async def billing_summary(
    session: AsyncSession, access: Access, settings: BillingSettings, watch: BudgetWatch, payments: Payments
) -> BillingOut:
    today = utc_now().date()
    first = today.replace(day=1)
    metered = (await usage.metering(session, access.workspace_id, first, today, None))[0]
    charged = (await usage.charges(session, access.workspace_id, first, today, None))[0]
    plan = await accounts.plan(session, settings, access.workspace_id)
    api_calls, api_charges = await ledger.api_usage(session, access.workspace_id, current_period())
    return BillingOut(
        workspace_id=access.workspace_id,
        period=current_period(),
        plan=PlanSummary(markup=plan.markup, increment=plan.increment),
        runs=int(charged["runs"]),
        price_to_date=charged["price"],
        api_calls=api_calls,
        api_charges_to_date=api_charges.quantize(AMOUNT_STEP, rounding=ROUND_CEILING),
        cost_to_date=metered["cost"] if access.can("cost") else None,
        invoice_preview=await _preview(session, access, settings.minimum_charge),
        budgets=[BudgetOut.of(status) for status in await accounts.budgets(session, watch, access.workspace_id)],
        cost_alerts=await _cost_alerts(session, access),
        payment_collection=PaymentCollection(enabled=payments.enabled, message=payments.status_message),
    )
