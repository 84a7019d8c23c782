"""Billing periods: what the open period will bill, and closing a period into one invoice per workspace."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from agentworks_events import utc_now
from agentworks_platform.errors import AppError, NotFound
from agentworks_platform.pagination import decode_cursor, encode_cursor
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.invoices import repository
from agentworks_billing.invoices.schemas import InvoiceDetailOut, InvoiceOut
from agentworks_billing.models import Invoice, InvoiceLine

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class DraftLine:
    """A line to be: one project and agent's runs, one period's API calls (``runs`` counts the calls), or the
    amount carried in."""

    project_id: uuid.UUID | None
    agent: str | None
    description: str
    runs: int
    amount: Decimal
    carried: bool = False


@dataclass
class Draft:
    """An invoice before it exists: charge lines, the amount carried in, and whether it meets the minimum."""

    lines: list[DraftLine]
    carried_in: Decimal
    carried_from: list[Invoice] = field(default_factory=list)

    @property
    def charges(self) -> Decimal:
        return sum((line.amount for line in self.lines if not line.carried), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.charges + self.carried_in


PREVIOUS = "previous"


def previous_period(now: datetime) -> str:
    """The last finished month: what the monthly close invoices."""
    return (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def check_period(period: str, *, closed: bool) -> str:
    """A ``YYYY-MM`` period; with ``closed``, it must also be over."""
    if not PERIOD.match(period):
        raise AppError("A period is written YYYY-MM, e.g. 2026-10.", code="invalid_period", status_code=422)
    if closed and period >= utc_now().strftime("%Y-%m"):
        raise AppError(f"The period {period} is not over yet.", code="period_open", status_code=409)
    return period


CENT = Decimal("0.01")


def _description(project_id: uuid.UUID, agent: str, runs: int) -> str:
    return f"{agent} agent runs in project {project_id} ({runs} run{'s' if runs != 1 else ''})"


def api_line(period: str, calls: int, exact: Decimal) -> DraftLine:
    """One period's API calls: each metered with the markup, the line rounded up to the cent once."""
    amount = exact.quantize(CENT, rounding=ROUND_CEILING)
    description = f"API usage in {period} ({calls} call{'s' if calls != 1 else ''}, provider cost × markup)"
    return DraftLine(None, None, description, calls, amount)


async def draft(session: AsyncSession, workspace_id: uuid.UUID, through_period: str) -> Draft:
    """Everything not yet invoiced up to the period, plus amounts carried over from earlier invoices."""
    lines = [
        DraftLine(row.project_id, row.agent, _description(row.project_id, row.agent, row.runs), row.runs, row.amount)
        for row in await repository.uninvoiced_groups(session, workspace_id, through_period)
        if row.amount > 0
    ]
    for period, calls, exact in await repository.uninvoiced_api_periods(session, workspace_id, through_period):
        if exact > 0:
            lines.append(api_line(period, calls, exact))
    carried = await repository.carried_over(session, workspace_id)
    carried_in = sum((invoice.total for invoice in carried), Decimal(0))
    if carried_in > 0:
        periods = ", ".join(sorted(invoice.period for invoice in carried))
        lines.insert(
            0, DraftLine(None, None, f"Carried over from {periods} (below the minimum charge)", 0, carried_in, True)
        )
    return Draft(lines, carried_in, carried)


@dataclass
class CloseReport:
    period: str
    invoices: list[uuid.UUID] = field(default_factory=list)
    carried_over: list[uuid.UUID] = field(default_factory=list)


async def workspaces_to_close(session: AsyncSession, period: str) -> list[uuid.UUID]:
    """The workspaces with anything to invoice through the finished ``period`` (charges, API calls, carried amounts)."""
    check_period(period, closed=True)
    return list(await repository.workspaces_to_close(session, period))


async def close_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, period: str, minimum_charge: Decimal
) -> Invoice | None:
    """The workspace's invoice for ``period``, written once (keyed by workspace and period); None if nothing to bill."""
    existing = await repository.invoice_of(session, workspace_id, period)
    if existing is not None:
        return existing
    bill = await draft(session, workspace_id, period)
    if bill.total <= 0:
        return None
    invoice = Invoice(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        period=period,
        status="carried_over" if bill.total < minimum_charge else "open",
        charges=bill.charges,
        carried_in=bill.carried_in,
        total=bill.total,
        currency="USD",
        created_at=utc_now(),
    )
    session.add(invoice)
    await session.flush()
    for earlier in bill.carried_from:
        earlier.carried_into = invoice.id
    await repository.mark_invoiced(session, workspace_id, period, invoice.id)
    session.add_all(
        InvoiceLine(
            id=uuid.uuid4(),
            invoice_id=invoice.id,
            position=position,
            project_id=line.project_id,
            agent=line.agent,
            description=line.description,
            runs=line.runs,
            amount=line.amount,
        )
        for position, line in enumerate(bill.lines)
    )
    return invoice


async def invoices_page(
    session: AsyncSession, workspace_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[InvoiceOut], str | None]:
    """A page of the workspace's invoices, newest period first, and the cursor of the next page if any."""
    rows = await repository.page(session, workspace_id, decode_cursor(cursor, (str, uuid.UUID)), limit + 1)
    next_cursor = encode_cursor(rows[limit - 1].period, rows[limit - 1].id) if len(rows) > limit else None
    return [InvoiceOut.of(invoice) for invoice in rows[:limit]], next_cursor


async def invoice_detail(session: AsyncSession, workspace_id: uuid.UUID, invoice_id: uuid.UUID) -> InvoiceDetailOut:
    invoice = await repository.invoice_by_id(session, workspace_id, invoice_id)
    if invoice is None:
        raise NotFound(f"No invoice with id {invoice_id}.")
    return InvoiceDetailOut.with_lines(invoice, await repository.lines(session, invoice.id))
