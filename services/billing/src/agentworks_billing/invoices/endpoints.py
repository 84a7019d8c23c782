"""Billing page, invoices, Stripe webhooks, and the internal period-close and reconciliation jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from agentworks_platform.app import SessionDep, allow_callers
from agentworks_platform.errors import error_responses
from agentworks_platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from fastapi import APIRouter, Depends, Query, Request

from agentworks_billing.access import PrincipalDep, authorize
from agentworks_billing.invoices import service, webhooks
from agentworks_billing.invoices.schemas import (
    BillingOut,
    CloseOut,
    DifferenceOut,
    InvoiceDetailOut,
    InvoiceOut,
    ReconcileIn,
    ReconcileOut,
    WebhookOut,
)
from agentworks_billing.invoices.summary import billing_summary
from agentworks_billing.state import jobs_of

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["billing"], responses=error_responses(404))
hooks = APIRouter(tags=["webhooks"])
internal = APIRouter(prefix="/internal", tags=["internal"])


@router.get("/billing", summary="This period: charges to date, invoice preview, budgets, alerts")
async def billing(
    workspace_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> BillingOut:
    access = await authorize(request, principal, workspace_id, "charges")
    jobs = jobs_of(request)
    return await billing_summary(session, access, jobs.settings, jobs.watch, jobs.payments)


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
    items, next_cursor = await service.invoices_page(session, workspace_id, cursor, limit)
    return Page[InvoiceOut](items=items, next_cursor=next_cursor)


@router.get("/invoices/{invoice_id}", summary="An invoice with its lines")
async def get_invoice(
    workspace_id: uuid.UUID, invoice_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> InvoiceDetailOut:
    await authorize(request, principal, workspace_id, "charges")
    return await service.invoice_detail(session, workspace_id, invoice_id)


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
