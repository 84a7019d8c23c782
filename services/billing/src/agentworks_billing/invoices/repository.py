"""Invoice queries."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.ledger.repository import api_charges
from agentworks_billing.models import Invoice, InvoiceLine, RunCharge, UsageRecord


def _uninvoiced(workspace_id: uuid.UUID, through_period: str) -> Any:
    return (
        (RunCharge.workspace_id == workspace_id) & RunCharge.invoice_id.is_(None) & (RunCharge.period <= through_period)
    )


def _uninvoiced_api(workspace_id: uuid.UUID, through_period: str) -> Any:
    return (
        (UsageRecord.workspace_id == workspace_id)
        & UsageRecord.api_key_id.is_not(None)
        & UsageRecord.invoice_id.is_(None)
        & (UsageRecord.period <= through_period)
    )


async def uninvoiced_api_periods(
    session: AsyncSession, workspace_id: uuid.UUID, through_period: str
) -> list[tuple[str, int, Decimal]]:
    """(period, calls, exact charge) of the API calls not yet on an invoice, one per period."""
    query = (
        select(UsageRecord.period, func.count())
        .where(_uninvoiced_api(workspace_id, through_period))
        .group_by(UsageRecord.period)
        .order_by(UsageRecord.period)
    )
    periods = [(str(period), int(calls)) for period, calls in (await session.execute(query)).all()]
    return [
        (
            period,
            calls,
            await api_charges(session, _uninvoiced_api(workspace_id, through_period), UsageRecord.period == period),
        )
        for period, calls in periods
    ]


async def uninvoiced_groups(session: AsyncSession, workspace_id: uuid.UUID, through_period: str) -> list[Any]:
    """Charges not yet on an invoice, grouped by project and agent."""
    query = (
        select(
            RunCharge.project_id, RunCharge.agent, func.count().label("runs"), func.sum(RunCharge.price).label("amount")
        )
        .where(_uninvoiced(workspace_id, through_period))
        .group_by(RunCharge.project_id, RunCharge.agent)
        .order_by(RunCharge.project_id, RunCharge.agent)
    )
    return list((await session.execute(query)).all())


async def mark_invoiced(
    session: AsyncSession, workspace_id: uuid.UUID, through_period: str, invoice_id: uuid.UUID
) -> None:
    await session.execute(
        update(RunCharge).where(_uninvoiced(workspace_id, through_period)).values(invoice_id=invoice_id)
    )
    await session.execute(
        update(UsageRecord).where(_uninvoiced_api(workspace_id, through_period)).values(invoice_id=invoice_id)
    )


async def carried_over(session: AsyncSession, workspace_id: uuid.UUID) -> list[Invoice]:
    query = select(Invoice).where(
        Invoice.workspace_id == workspace_id, Invoice.status == "carried_over", Invoice.carried_into.is_(None)
    )
    return list(await session.scalars(query))


async def workspaces_to_close(session: AsyncSession, through_period: str) -> list[uuid.UUID]:
    charged = select(RunCharge.workspace_id).where(RunCharge.invoice_id.is_(None), RunCharge.period <= through_period)
    called = select(UsageRecord.workspace_id).where(
        UsageRecord.api_key_id.is_not(None), UsageRecord.invoice_id.is_(None), UsageRecord.period <= through_period
    )
    carried = select(Invoice.workspace_id).where(Invoice.status == "carried_over", Invoice.carried_into.is_(None))
    found: set[uuid.UUID] = set()
    for query in (charged, called, carried):
        found.update(await session.scalars(query.distinct()))
    return sorted(found)


async def invoice_of(session: AsyncSession, workspace_id: uuid.UUID, period: str) -> Invoice | None:
    return await session.scalar(select(Invoice).where(Invoice.workspace_id == workspace_id, Invoice.period == period))


async def lines(session: AsyncSession, invoice_id: uuid.UUID) -> list[InvoiceLine]:
    query = select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position)
    return list(await session.scalars(query))


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, after: tuple[str, uuid.UUID] | None, limit: int
) -> list[Invoice]:
    query = select(Invoice).where(Invoice.workspace_id == workspace_id)
    if after is not None:
        period, invoice_id = after
        query = query.where((Invoice.period < period) | ((Invoice.period == period) & (Invoice.id < invoice_id)))
    return list(await session.scalars(query.order_by(Invoice.period.desc(), Invoice.id.desc()).limit(limit)))


async def awaiting_stripe(session: AsyncSession) -> list[uuid.UUID]:
    query = (
        select(Invoice.id).where(Invoice.status == "open", Invoice.finalized_at.is_(None)).order_by(Invoice.created_at)
    )
    return list(await session.scalars(query))


async def by_stripe_id(session: AsyncSession, stripe_invoice_id: str) -> Invoice | None:
    return await session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == stripe_invoice_id))


async def invoice_by_id(session: AsyncSession, workspace_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice | None:
    invoice = await session.get(Invoice, invoice_id)
    return invoice if invoice is not None and invoice.workspace_id == workspace_id else None
