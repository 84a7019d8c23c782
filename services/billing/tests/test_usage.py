"""Usage queries against a month of generated usage: every total and series equals the ledger to the cent."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from agentworks_events import Event, UsageRecorded, UsageRunSettled

from .conftest import Billing
from .factories import usage_history

OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
DIMENSIONS = ("day", "provider", "model", "agent", "project", "card")


def text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def expected_series(events: list[Event], dimension: str, first: date, last: date) -> dict[str | None, dict[str, Any]]:
    attribute = {"day": None, "project": "project_id", "card": "card_id"}.get(dimension, dimension)
    rows: dict[str | None, dict[str, Any]] = defaultdict(
        lambda: {"provider_calls": 0, "input_tokens": 0, "output_tokens": 0, "images": 0, "cost": Decimal(0),
                 "runs": 0, "price": Decimal(0)}
    )  # fmt: skip
    for event in events:
        day = event.occurred_at.date()
        if not first <= day <= last:
            continue
        if dimension == "day":
            key: str | None = day.isoformat()
        else:
            value = getattr(event, attribute or dimension, None)
            key = None if value is None else str(value)
        if isinstance(event, UsageRecorded):
            row = rows[key]
            row["provider_calls"] += 1
            row["input_tokens"] += event.input_tokens
            row["output_tokens"] += event.output_tokens
            row["images"] += event.images
            row["cost"] += event.cost
        elif isinstance(event, UsageRunSettled) and dimension not in ("provider", "model"):
            rows[key]["runs"] += 1
            rows[key]["price"] += event.price
    return rows


def as_api(rows: dict[str | None, dict[str, Any]], dimension: str, with_cost: bool = True) -> list[dict[str, Any]]:
    charged = dimension not in ("provider", "model")
    return sorted(
        (
            {
                "key": key,
                **{k: v for k, v in row.items() if k not in ("cost", "price")},
                "cost": text(row["cost"]) if with_cost else None,
                "price": text(row["price"]) if charged else None,
            }
            for key, row in rows.items()
        ),
        key=lambda r: (r["key"] is None, r["key"] or ""),
    )


async def test_a_month_of_usage_matches_the_ledger_to_the_cent(billing: Billing) -> None:
    ids = billing.ids
    events = usage_history(ids["workspace"], [ids["shop"], ids["blog"]], OCTOBER, days=33, seed=11)
    for event in events:
        await billing.deliver(event)
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    query = "&".join(f"group_by={d}" for d in DIMENSIONS)
    path = f"/api/workspaces/{ids['workspace']}/usage?start=2026-10-01&end=2026-10-31&{query}"
    report = await billing.ok("GET", path, billing.member)
    for dimension in DIMENSIONS:
        assert report["series"][dimension] == as_api(expected_series(events, dimension, first, last), dimension)
    totals = expected_series(events, "project", first, last)
    assert report["totals"]["cost"] == text(sum((r["cost"] for r in totals.values()), Decimal(0)))
    assert report["totals"]["price"] == text(sum((r["price"] for r in totals.values()), Decimal(0)))
    assert report["totals"]["runs"] == sum(r["runs"] for r in totals.values()) > 20
    assert len(report["series"]["day"]) == 31


async def test_viewers_see_charges_but_never_provider_cost(billing: Billing) -> None:
    ids = billing.ids
    events = usage_history(ids["workspace"], [ids["shop"]], OCTOBER, days=3)
    for event in events:
        await billing.deliver(event)
    path = f"/api/workspaces/{ids['workspace']}/usage?start=2026-10-01&end=2026-10-03&group_by=agent&group_by=model"
    report = await billing.ok("GET", path, billing.viewer)
    assert report["totals"]["cost"] is None
    assert Decimal(report["totals"]["price"]) > 0
    assert all(row["cost"] is None for rows in report["series"].values() for row in rows)
    viewer_csv = await billing.request(
        "GET", f"/api/workspaces/{ids['workspace']}/charges.csv?start=2026-10-01&end=2026-10-03", billing.viewer
    )
    assert "cost" not in viewer_csv.text.splitlines()[0].split(",")
    summary = await billing.ok("GET", f"/api/workspaces/{ids['workspace']}/billing", billing.viewer)
    assert summary["cost_to_date"] is None


async def test_the_csv_export_lists_every_charge(billing: Billing) -> None:
    ids = billing.ids
    events = usage_history(ids["workspace"], [ids["shop"], ids["blog"]], OCTOBER, days=10)
    for event in events:
        await billing.deliver(event)
    response = await billing.request(
        "GET", f"/api/workspaces/{ids['workspace']}/charges.csv?start=2026-10-01&end=2026-10-31", billing.owner
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    settled = [e for e in events if isinstance(e, UsageRunSettled)]
    assert sorted((r["run_id"], r["price"], r["cost"]) for r in rows) == sorted(
        (str(e.run_id), text(e.price), text(e.cost)) for e in settled
    )


async def test_bad_ranges_and_dimensions_are_clear_errors(billing: Billing) -> None:
    base = f"/api/workspaces/{billing.ids['workspace']}/usage"
    for query, code in (
        ("?start=2026-10-05&end=2026-10-01", "invalid_range"),
        ("?start=2024-01-01&end=2026-10-01", "invalid_range"),
        ("?start=yesterday", "invalid_request"),
        ("?group_by=colour", "invalid_request"),
    ):
        response = await billing.request("GET", base + query, billing.owner)
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), query
