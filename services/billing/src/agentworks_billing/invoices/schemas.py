"""Invoice and billing-summary schemas."""

from __future__ import annotations

import uuid
from datetime import date

from agentworks_events import UtcDateTime
from agentworks_platform.money import MoneyOut
from pydantic import AwareDatetime, Field

from agentworks_billing.accounts.schemas import BudgetOut
from agentworks_billing.models import Invoice, InvoiceLine
from agentworks_billing.schemas import Schema


class LineOut(Schema):
    project_id: uuid.UUID | None = Field(
        description="Null for a period's API calls (runs counts the calls) and the amount carried over."
    )
    agent: str | None
    description: str
    runs: int
    amount: MoneyOut


class InvoiceOut(Schema):
    id: uuid.UUID
    workspace_id: uuid.UUID
    period: str
    status: str = Field(description="open, paid, payment_failed, or carried_over (below the minimum charge).")
    charges: MoneyOut
    carried_in: MoneyOut
    total: MoneyOut
    currency: str
    carried_into: uuid.UUID | None
    stripe_invoice_id: str | None
    hosted_invoice_url: str | None
    created_at: UtcDateTime
    finalized_at: UtcDateTime | None
    paid_at: UtcDateTime | None
    failure_message: str | None

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls.model_validate(invoice, from_attributes=True)


class InvoiceDetailOut(InvoiceOut):
    lines: list[LineOut]

    @classmethod
    def with_lines(cls, invoice: Invoice, lines: list[InvoiceLine]) -> InvoiceDetailOut:
        base = InvoiceOut.of(invoice).model_dump()
        return cls(**base, lines=[LineOut.model_validate(line, from_attributes=True) for line in lines])


class PreviewOut(Schema):
    lines: list[LineOut]
    charges: MoneyOut
    carried_in: MoneyOut
    total: MoneyOut
    minimum_charge: MoneyOut
    below_minimum: bool = Field(description="True when the total would carry over instead of being charged.")


class CostAlertOut(Schema):
    day: date
    percent_of_average: MoneyOut = Field(description="The day's cost as a percentage of the trailing 7-day average.")
    day_cost: MoneyOut | None = Field(description="Hidden (null) from viewers.")
    trailing_average: MoneyOut | None = Field(description="Hidden (null) from viewers.")


class PlanSummary(Schema):
    markup: MoneyOut
    increment: MoneyOut


class PaymentCollection(Schema):
    enabled: bool
    message: str


class BillingOut(Schema):
    workspace_id: uuid.UUID
    period: str
    currency: str = "USD"
    plan: PlanSummary
    runs: int
    price_to_date: MoneyOut = Field(description="This period's run charges.")
    api_calls: int = Field(description="Calls made this period with the workspace's API keys.")
    api_charges_to_date: MoneyOut = Field(
        description="Their charge: each call's provider cost × markup, unrounded; the invoice line rounds it up to "
        "the cent once."
    )
    cost_to_date: MoneyOut | None = Field(description="Provider cost; hidden (null) from viewers.")
    invoice_preview: PreviewOut
    budgets: list[BudgetOut]
    cost_alerts: list[CostAlertOut]
    payment_collection: PaymentCollection


class WebhookOut(Schema):
    received: bool = True
    duplicate: bool


class CloseOut(Schema):
    period: str
    invoices: list[uuid.UUID]
    carried_over: list[uuid.UUID]
    sent_to_stripe: list[uuid.UUID]
    payment_collection: bool


class ReconcileIn(Schema):
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class DifferenceOut(Schema):
    kind: str
    run_id: uuid.UUID
    workspace_id: uuid.UUID
    recorded_cost: MoneyOut
    settled_cost: MoneyOut | None
    delta: MoneyOut


class ReconcileOut(Schema):
    since: UtcDateTime
    until: UtcDateTime
    runs_checked: int
    balanced: bool
    differences: list[DifferenceOut]
