"""Stripe: a customer per workspace and one invoice per closed period, every call keyed by our own ids.

Each create carries an idempotency key derived from our ids, and each Stripe id is stored as soon as it is
known, so a retry (by the SDK, or a later run after a crash) never creates a second invoice or line.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from agentworks_events import utc_now
from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger

from agentworks_billing.invoices import repository
from agentworks_billing.models import BillingAccount, Invoice, InvoiceLine

log = get_logger(__name__)
COLLECTION_OFF = "Payment collection is off: no Stripe key is configured, so invoices are issued but not charged."
COLLECTION_ON = "Payment collection is on: invoices are charged through Stripe."


def cents(amount: Decimal) -> int:
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(value)


class Payments:
    """Pushes open invoices to Stripe; without a client payment collection is off."""

    def __init__(self, db: Database, client: stripe.StripeClient | None = None, http: stripe.HTTPClient | None = None):
        self.db = db
        self.client = client
        self._http = http

    @classmethod
    def connect(cls, db: Database, api_key: str, api_base: str | None, max_retries: int) -> Payments:
        http = stripe.HTTPXClient()
        client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=http,
            max_network_retries=max_retries,
        )
        return cls(db, client, http)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close_async()  # type: ignore[no-untyped-call]

    @property
    def enabled(self) -> bool:
        return self.client is not None

    @property
    def status_message(self) -> str:
        return COLLECTION_ON if self.enabled else COLLECTION_OFF

    async def push_pending(self) -> list[uuid.UUID]:
        """Send every open invoice Stripe has not finalized yet; one failure does not stop the others."""
        if self.client is None:
            return []
        async with self.db.transaction() as session:
            pending = await repository.awaiting_stripe(session)
        pushed = []
        for invoice_id in pending:
            try:
                await self.push(invoice_id)
            except stripe.StripeError as exc:
                log.error(
                    "billing.stripe_push_failed",
                    invoice_id=str(invoice_id),
                    error=type(exc).__name__,
                    detail=str(exc)[:300],
                )
                continue
            pushed.append(invoice_id)
        return pushed

    async def push(self, invoice_id: uuid.UUID) -> None:
        client = self._client()
        async with self.db.transaction() as session:
            invoice = await session.get(Invoice, invoice_id)
            if invoice is None or invoice.finalized_at is not None:
                return
            lines = await repository.lines(session, invoice_id)
        customer = await self._customer(client, invoice.workspace_id)
        stripe_invoice_id = invoice.stripe_invoice_id or await self._create_invoice(client, invoice, customer)
        for line in lines:
            if line.stripe_item_id is None:
                await self._create_item(client, invoice, line, customer, stripe_invoice_id)
        final = await client.v1.invoices.finalize_invoice_async(
            stripe_invoice_id, {"auto_advance": True}, {"idempotency_key": f"aw-invoice-{invoice.id}-finalize"}
        )
        finalized_at = _moment(final.status_transitions.finalized_at if final.status_transitions else None)
        await self._save(invoice.id, finalized_at=finalized_at, hosted_invoice_url=final.hosted_invoice_url)
        log.info("billing.invoice_sent", invoice_id=str(invoice.id), stripe_invoice_id=stripe_invoice_id)

    def _client(self) -> stripe.StripeClient:
        if self.client is None:
            raise RuntimeError(COLLECTION_OFF)
        return self.client

    async def _customer(self, client: stripe.StripeClient, workspace_id: uuid.UUID) -> str:
        async with self.db.transaction() as session:
            account = await session.get(BillingAccount, workspace_id)
            if account is not None and account.stripe_customer_id:
                return account.stripe_customer_id
        customer = await client.v1.customers.create_async(
            {
                "name": f"AgentWorks workspace {workspace_id}",
                "metadata": {"agentworks_workspace_id": str(workspace_id)},
            },
            {"idempotency_key": f"aw-customer-{workspace_id}"},
        )
        async with self.db.transaction() as session:
            account = await session.get(BillingAccount, workspace_id)
            if account is None:
                account = BillingAccount(workspace_id=workspace_id, updated_at=utc_now())
                session.add(account)
            account.stripe_customer_id = customer.id
        return customer.id

    async def _create_invoice(self, client: stripe.StripeClient, invoice: Invoice, customer: str) -> str:
        created = await client.v1.invoices.create_async(
            {
                "customer": customer,
                "currency": "usd",
                "collection_method": "charge_automatically",
                "auto_advance": False,
                "pending_invoice_items_behavior": "exclude",
                "description": f"AgentWorks usage for {invoice.period}",
                "metadata": {"agentworks_invoice_id": str(invoice.id), "period": invoice.period},
            },
            {"idempotency_key": f"aw-invoice-{invoice.id}"},
        )
        await self._save(invoice.id, stripe_invoice_id=created.id)
        return created.id

    async def _create_item(
        self, client: stripe.StripeClient, invoice: Invoice, line: InvoiceLine, customer: str, stripe_invoice_id: str
    ) -> None:
        item = await client.v1.invoice_items.create_async(
            {
                "customer": customer,
                "invoice": stripe_invoice_id,
                "currency": "usd",
                "amount": cents(line.amount),
                "description": line.description,
                "metadata": {"agentworks_invoice_id": str(invoice.id), "agentworks_line_id": str(line.id)},
            },
            {"idempotency_key": f"aw-invoice-{invoice.id}-line-{line.id}"},
        )
        async with self.db.transaction() as session:
            stored = await session.get(InvoiceLine, line.id)
            if stored is not None:
                stored.stripe_item_id = item.id

    async def _save(self, invoice_id: uuid.UUID, **values: Any) -> None:
        async with self.db.transaction() as session:
            invoice = await session.get(Invoice, invoice_id)
            if invoice is not None:
                for name, value in values.items():
                    setattr(invoice, name, value)


def _moment(stamp: int | None) -> datetime:
    return datetime.fromtimestamp(stamp, UTC) if stamp else utc_now()
