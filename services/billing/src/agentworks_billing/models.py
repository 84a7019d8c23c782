"""Tables owned by billing: the usage ledger, run charges, accounts and plans, budgets, invoices, Stripe inbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentworks_platform.db import new_metadata
from agentworks_pubsub.tables import inbox_table, outbox_table
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
AMOUNT_PLACES = 10
AMOUNT_MAX = Decimal(2**63 - 1).scaleb(-AMOUNT_PLACES)
"""The largest amount an ``Amount`` column holds (a signed 64-bit count of 1e-10 dollars): 922337203.6854775807."""


class Amount(TypeDecorator[Decimal]):
    """USD stored as a whole number of 1e-10 dollars, so sums are exact on SQLite as on PostgreSQL."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, _dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(AMOUNT_PLACES)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {AMOUNT_PLACES} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, _dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-AMOUNT_PLACES)


class Base(DeclarativeBase):
    metadata = new_metadata()


metadata = Base.metadata
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class UsageRecord(Base):
    """Metering: one provider call, from ``usage.recorded``; the event id is its unique key.

    A call made with a workspace API key (``api_key_id``) is also a charge: ``markup`` is the workspace's
    markup when the call was metered, and the call is invoiced (``invoice_id``) on its ``period``'s API line,
    rounded once for the whole line."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_workspace_day", "workspace_id", "day"),
        Index("ix_usage_records_run", "run_id"),
        Index("ix_usage_records_api_uninvoiced", "workspace_id", "period", "invoice_id"),
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str | None] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(40), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    requested_provider: Mapped[str] = mapped_column(String(40), nullable=False)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    images: Mapped[int] = mapped_column(Integer, nullable=False)
    cost: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    markup: Mapped[Decimal | None] = mapped_column(Amount())
    period: Mapped[str | None] = mapped_column(String(7))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("invoices.id"))


class RunCharge(Base):
    """The charge for one run, from ``usage.run_settled``; one per run, whatever the event id."""

    __tablename__ = "run_charges"
    __table_args__ = (
        Index("ix_run_charges_workspace_day", "workspace_id", "day"),
        Index("ix_run_charges_uninvoiced", "workspace_id", "period", "invoice_id"),
    )
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    run_status: Mapped[str] = mapped_column(String(16), nullable=False)
    cost: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    markup: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    increment: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    unrounded_amount: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    price: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    provider_calls: Mapped[int] = mapped_column(Integer, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    period: Mapped[str] = mapped_column(String(7), nullable=False)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("invoices.id"))


class BillingAccount(Base):
    """A workspace's pricing plan (null: the default plan) and its Stripe customer."""

    __tablename__ = "billing_accounts"
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    markup: Mapped[Decimal | None] = mapped_column(Amount())
    increment: Mapped[Decimal | None] = mapped_column(Amount())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Budget(Base):
    """A monthly cap on charges for a workspace (``project_id`` null) or one of its projects."""

    __tablename__ = "budgets"
    scope_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    monthly_cap: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class BudgetNotice(Base):
    """A warning or exceeded notice already sent for a budget, period and cap (each is sent once)."""

    __tablename__ = "budget_notices"
    scope_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    cap: Mapped[Decimal] = mapped_column(Amount(), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    spent: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CostAlert(Base):
    """A day whose provider cost exceeded the trailing 7-day average by more than the spike threshold."""

    __tablename__ = "cost_alerts"
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    day_cost: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    trailing_average: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Invoice(Base):
    """One workspace's bill for a closed period; amounts below Stripe's minimum carry over to the next."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("workspace_id", "period"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    period: Mapped[str] = mapped_column(String(7), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    charges: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    carried_in: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    total: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    carried_into: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failure_message: Mapped[str | None] = mapped_column(Text)


class InvoiceLine(Base):
    """An invoice line: one project and agent's runs, or the amount carried over from earlier periods."""

    __tablename__ = "invoice_lines"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoices.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    runs: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Amount(), nullable=False)
    stripe_item_id: Mapped[str | None] = mapped_column(String(255))


class StripeEvent(Base):
    """A Stripe webhook event already handled (Stripe retries and may deliver twice)."""

    __tablename__ = "stripe_events"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
