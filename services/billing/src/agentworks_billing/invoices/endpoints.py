"""Billing page, invoices, Stripe webhooks, and the internal period-close and reconciliation jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from agentworks_events import UtcDateTime
from agentworks_platform.app import SessionDep, allow_callers
from agentworks_platform.errors import NotFound, error_responses
from agentworks_platform.money import MoneyOut
from agentworks_platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from agentworks_billing.access import PrincipalDep, authorize
from agentworks_billing.invoices import repository, webhooks
from agentworks_billing.invoices.schemas import BillingOut, InvoiceDetailOut, InvoiceOut
from agentworks_billing.invoices.summary import billing_summary
from agentworks_billing.jobs import Jobs
from agentworks_billing.schemas import Schema
from agentworks_billing.state import state_of_request

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["billing"], responses=error_responses(404))
hooks = APIRouter(tags=["webhooks"])
internal = APIRouter(prefix="/internal", tags=["internal"])


def jobs_of(request: Request) -> Jobs:
    return state_of_request(request).jobs


@router.get("/billing", summary="This period: charges to date, invoice preview, budgets, alerts")
async def billing(
    workspace_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> BillingOut:
    access = await authorize(request, principal, workspace_id, "charges")
    jobs = jobs_of(request)
    return await billing_summary(session, access, jobs.accounts, jobs.payments, jobs.settings.minimum_charge)


@router.get("/invoices", summary="Invoices, newest period first")
async def list_invoices(
    workspace_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[InvoiceOut]:
    await authorize(request, principal, workspace_id, "charges")
    after = decode_cursor(cursor, (str, uuid.UUID))
    rows = await repository.page(session, workspace_id, after, limit + 1)
    items = [InvoiceOut.of(invoice) for invoice in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].period, rows[limit - 1].id) if len(rows) > limit else None
    return Page[InvoiceOut](items=items, next_cursor=next_cursor)


@router.get("/invoices/{invoice_id}", summary="An invoice with its lines")
async def get_invoice(
    workspace_id: uuid.UUID, invoice_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> InvoiceDetailOut:
    await authorize(request, principal, workspace_id, "charges")
    invoice = await repository.invoice_by_id(session, workspace_id, invoice_id)
    if invoice is None:
        raise NotFound(f"No invoice with id {invoice_id}.")
    return InvoiceDetailOut.with_lines(invoice, await repository.lines(session, invoice.id))


class WebhookOut(Schema):
    received: bool = True
    duplicate: bool


@hooks.post(
    "/webhooks/stripe",
    dependencies=[Depends(allow_callers("gateway"))],
    summary="Stripe webhook endpoint (signature verified)",
)
async def stripe_webhook(request: Request, session: SessionDep) -> WebhookOut:
    jobs = jobs_of(request)
    secret = await jobs.webhook_secret()
    event = webhooks.verify(
        await request.body(),
        request.headers.get("stripe-signature"),
        secret,
        jobs.settings.stripe_webhook_tolerance_seconds,
    )
    return WebhookOut(duplicate=not await webhooks.handle(session, event))


class CloseOut(Schema):
    period: str
    invoices: list[uuid.UUID]
    carried_over: list[uuid.UUID]
    sent_to_stripe: list[uuid.UUID]
    payment_collection: bool


@internal.post(
    "/periods/{period}/close",
    dependencies=[Depends(allow_callers("scheduler"))],
    summary="Invoice a finished period and send open invoices to Stripe",
)
async def close_period(period: str, request: Request) -> CloseOut:
    jobs = jobs_of(request)
    report, sent = await jobs.close_period(period)
    return CloseOut(
        period=report.period,
        invoices=report.invoices,
        carried_over=report.carried_over,
        sent_to_stripe=sent,
        payment_collection=jobs.payments.enabled,
    )


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


@internal.post(
    "/reconciliation",
    dependencies=[Depends(allow_callers("scheduler"))],
    summary="Check every settled run's cost against its recorded provider calls",
)
async def reconciliation(request: Request, body: ReconcileIn | None = None) -> ReconcileOut:
    body = body or ReconcileIn()
    until = body.until or datetime.now(UTC)
    since = body.since or until - timedelta(days=1)
    report = await jobs_of(request).reconcile(since, until)
    return ReconcileOut(
        since=report.since,
        until=report.until,
        runs_checked=report.runs_checked,
        balanced=report.balanced,
        differences=[
            DifferenceOut(
                kind=d.kind,
                run_id=d.run_id,
                workspace_id=d.workspace_id,
                recorded_cost=d.recorded_cost,
                settled_cost=d.settled_cost,
                delta=d.delta,
            )
            for d in report.differences
        ],
    )
