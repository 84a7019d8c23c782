"""Usage reports: totals and series by day, provider, model, agent, project and card."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from agentworks_events import utc_now, utc_text
from agentworks_platform.db import Database
from agentworks_platform.errors import AppError
from agentworks_platform.money import money_text
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.usage import repository

MAX_RANGE_DAYS = 400
DIMENSIONS = ("day", "provider", "model", "agent", "project", "card")
CSV_BATCH = 500


def date_range(start: date | None, end: date | None) -> tuple[date, date]:
    """The requested range, by default this month to date; validated (end ≥ start, at most 400 days)."""
    today = utc_now().date()
    end = end or today
    start = start or end.replace(day=1)
    if end < start:
        raise AppError("'end' must be on or after 'start'.", code="invalid_range", status_code=422)
    if (end - start).days >= MAX_RANGE_DAYS:
        raise AppError(f"A range covers at most {MAX_RANGE_DAYS} days.", code="invalid_range", status_code=422)
    return start, end


@dataclass
class UsageRow:
    """Metering (calls, tokens, images, provider cost) and charges (runs, price) of one group."""

    key: str | None = None
    provider_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    cost: Decimal = Decimal(0)
    runs: int = 0
    price: Decimal | None = Decimal(0)

    def add_metering(self, row: dict[str, Any]) -> None:
        self.provider_calls += int(row["provider_calls"])
        self.input_tokens += int(row["input_tokens"])
        self.output_tokens += int(row["output_tokens"])
        self.images += int(row["images"])
        self.cost += row["cost"]

    def add_charges(self, row: dict[str, Any]) -> None:
        self.runs += int(row["runs"])
        self.price = (self.price or Decimal(0)) + row["price"]


@dataclass
class UsageReport:
    start: date
    end: date
    totals: UsageRow
    series: dict[str, list[UsageRow]] = field(default_factory=dict)


def _key(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


async def _series(session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date, key: str) -> list[UsageRow]:
    rows: dict[str | None, UsageRow] = {}
    for row in await repository.metering(session, workspace_id, start, end, key):
        rows.setdefault(_key(row["key"]), UsageRow(_key(row["key"]))).add_metering(row)
    if key in repository.CHARGE_KEYS:
        for row in await repository.charges(session, workspace_id, start, end, key):
            rows.setdefault(_key(row["key"]), UsageRow(_key(row["key"]))).add_charges(row)
    else:
        for usage in rows.values():
            usage.price = None
    return sorted(rows.values(), key=lambda r: (r.key is None, r.key or ""))


async def report(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date, group_by: list[str]
) -> UsageReport:
    totals = UsageRow()
    for row in await repository.metering(session, workspace_id, start, end, None):
        totals.add_metering(row)
    for row in await repository.charges(session, workspace_id, start, end, None):
        totals.add_charges(row)
    result = UsageReport(start, end, totals)
    for key in dict.fromkeys(group_by):
        result.series[key] = await _series(session, workspace_id, start, end, key)
    return result


CSV_COLUMNS = (
    "date", "settled_at", "run_id", "project_id", "card_id", "agent", "run_status", "provider_calls", "cost", "price",
)  # fmt: skip


async def charges_csv(
    db: Database, workspace_id: uuid.UUID, start: date, end: date, with_cost: bool
) -> AsyncIterator[str]:
    """Every run charge in the range as CSV, streamed in batches; without the cost column for viewers."""
    columns = [c for c in CSV_COLUMNS if with_cost or c != "cost"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    count = 0
    async with db.transaction() as session:
        async for charge in repository.charge_rows(session, workspace_id, start, end):
            values = {
                "date": charge.day.isoformat(),
                "settled_at": utc_text(charge.occurred_at),
                "run_id": charge.run_id,
                "project_id": charge.project_id,
                "card_id": charge.card_id or "",
                "agent": charge.agent,
                "run_status": charge.run_status,
                "provider_calls": charge.provider_calls,
                "cost": money_text(charge.cost),
                "price": money_text(charge.price),
            }
            writer.writerow([values[c] for c in columns])
            count += 1
            if count % CSV_BATCH == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
