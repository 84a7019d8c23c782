"""Stripe webhooks: signature verified, each Stripe event handled once, invoice status moved forward only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import stripe
from agentworks_events import utc_now
from agentworks_platform.db import insert_ignoring_conflicts
from agentworks_platform.errors import AppError
from agentworks_platform.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.invoices import repository
from agentworks_billing.models import Invoice, StripeEvent

log = get_logger(__name__)
HANDLED = frozenset({"invoice.finalized", "invoice.paid", "invoice.payment_failed"})


def verify(payload: bytes, signature: str | None, secret: str | None, tolerance: int) -> stripe.Event:
    """The event, or a 400 for a missing, tampered, wrong-secret or stale signature."""
    if not secret:
        raise AppError(
            "Payment collection is off: no Stripe webhook secret is configured.", code="payments_off", status_code=404
        )
    try:
        event: stripe.Event = stripe.Webhook.construct_event(payload, signature, secret, tolerance)
        return event
    except stripe.SignatureVerificationError:
        raise AppError("The Stripe signature is not valid.", code="invalid_signature", status_code=400) from None
    except ValueError:
        raise AppError("The webhook body is not a Stripe event.", code="invalid_payload", status_code=400) from None


async def _invoice_for(session: AsyncSession, stripe_invoice: Any) -> Invoice | None:
    metadata = stripe_invoice.get("metadata") or {}
    ours = metadata.get("agentworks_invoice_id")
    try:
        invoice = await session.get(Invoice, uuid.UUID(ours)) if ours else None
    except ValueError:
        invoice = None
    return invoice or await repository.by_stripe_id(session, str(stripe_invoice.get("id")))


def _apply(invoice: Invoice, kind: str, stripe_invoice: Any) -> None:
    invoice.stripe_invoice_id = invoice.stripe_invoice_id or stripe_invoice.get("id")
    invoice.hosted_invoice_url = stripe_invoice.get("hosted_invoice_url") or invoice.hosted_invoice_url
    if invoice.finalized_at is None:
        invoice.finalized_at = utc_now()
    if kind == "invoice.paid":
        invoice.status, invoice.paid_at, invoice.failure_message = "paid", utc_now(), None
    elif kind == "invoice.payment_failed" and invoice.status != "paid":
        invoice.status = "payment_failed"
        invoice.failure_message = "The payment failed; Stripe retries it on its schedule."


async def handle(session: AsyncSession, event: stripe.Event) -> bool:
    """Apply a verified event; False when it was already handled."""
    stripe_invoice = event.data.object.to_dict() if event.type in HANDLED else None
    invoice = await _invoice_for(session, stripe_invoice) if stripe_invoice is not None else None
    fresh = await insert_ignoring_conflicts(
        session,
        StripeEvent.__table__,  # type: ignore[arg-type]
        {
            "id": event.id,
            "type": event.type,
            "invoice_id": invoice.id if invoice else None,
            "received_at": datetime.now(UTC),
        },
    )
    if not fresh:
        log.info("billing.stripe_event_duplicate", stripe_event_id=event.id)
        return False
    if invoice is not None:
        _apply(invoice, event.type, stripe_invoice)
        log.info("billing.stripe_event", stripe_event_id=event.id, type=event.type, invoice_id=str(invoice.id))
    elif stripe_invoice is not None:
        log.warning("billing.stripe_event_unmatched", stripe_event_id=event.id, type=event.type)
    return True
