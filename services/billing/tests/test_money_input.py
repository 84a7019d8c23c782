"""Amounts from clients are bounded by what the ledger and the events hold, and refused before any write."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from agentworks_billing.accounts.schemas import BudgetIn, PlanIn
from agentworks_billing.models import AMOUNT_MAX
from agentworks_billing.schemas import LARGEST_AMOUNT, POSITIVE_CENTS_TEXT
from agentworks_events import UTC_TEXT_PATTERN
from agentworks_events.base import MONEY_MAX
from pydantic import ValidationError

from .conftest import Billing

BAD_CAPS = [
    1e9,
    "1e9",
    "1000000000",
    "500000000",
    1e30,
    "1e30",
    -1,
    "-1",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e-30",
    "100000000",
]


@pytest.mark.parametrize("cap", BAD_CAPS)
async def test_a_cap_beyond_what_the_ledger_holds_is_a_422_and_writes_nothing(billing: Billing, cap: object) -> None:
    workspace = billing.ids["workspace"]
    for path in (
        f"/api/workspaces/{workspace}/budgets/workspace",
        f"/api/workspaces/{workspace}/budgets/projects/{billing.ids['shop']}",
    ):
        response = await billing.request("PUT", path, billing.owner, {"monthly_cap": cap})
        assert response.status_code == 422, (cap, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
    assert await billing.ok("GET", f"/api/workspaces/{workspace}/budgets") == []
    assert billing.published("usage.budget_changed") == []


async def test_the_largest_cap_is_stored_and_read_back_exactly(billing: Billing) -> None:
    workspace = billing.ids["workspace"]
    largest = "99999999.99"
    out = await billing.ok("PUT", f"/api/workspaces/{workspace}/budgets/workspace", json={"monthly_cap": largest})
    assert out["monthly_cap"] == largest
    assert re.match(UTC_TEXT_PATTERN, out["updated_at"])
    [listed] = await billing.ok("GET", f"/api/workspaces/{workspace}/budgets")
    assert (listed["monthly_cap"], listed["updated_at"]) == (largest, out["updated_at"])
    [changed] = billing.published("usage.budget_changed")
    assert changed.cap == Decimal(largest)


def test_the_bound_is_the_smaller_of_the_ledger_column_and_the_event_money() -> None:
    ledger, event, largest = AMOUNT_MAX, MONEY_MAX, LARGEST_AMOUNT
    assert (ledger, event, largest) == (Decimal("922337203.6854775807"), Decimal("99999999.9999999999"), event)


@pytest.mark.parametrize("markup", ["5.12345678901", "1e30", "NaN", "Infinity", "4.99"])
def test_a_plan_markup_the_ledger_cannot_store_exactly_is_refused(markup: str) -> None:
    with pytest.raises(ValidationError):
        PlanIn(markup=Decimal(markup))
    assert PlanIn(markup=Decimal("5.1234567890")).markup == Decimal("5.1234567890")


@pytest.mark.parametrize("cap", ["0", "0.00", "", " 5", "5 ", "1.", ".5", "1e3", "+5", "5.001", "123456789"])
async def test_a_cap_written_as_text_must_match_the_documented_pattern(billing: Billing, cap: str) -> None:
    assert re.fullmatch(POSITIVE_CENTS_TEXT, cap) is None
    path = f"/api/workspaces/{billing.ids['workspace']}/budgets/workspace"
    response = await billing.request("PUT", path, billing.owner, {"monthly_cap": cap})
    assert response.status_code == 422, (cap, response.text)


@pytest.mark.parametrize(("cap", "stored"), [("000.5", "0.5"), ("12", "12"), ("0.01", "0.01"), (0.07, "0.07")])
async def test_a_cap_the_document_allows_is_accepted(billing: Billing, cap: object, stored: str) -> None:
    assert isinstance(cap, float) or re.fullmatch(POSITIVE_CENTS_TEXT, str(cap))
    path = f"/api/workspaces/{billing.ids['workspace']}/budgets/workspace"
    assert (await billing.ok("PUT", path, json={"monthly_cap": cap}))["monthly_cap"] == stored


def test_the_document_states_the_cap_s_cents_and_bounds() -> None:
    [number, text] = BudgetIn.model_json_schema()["properties"]["monthly_cap"]["anyOf"]
    assert (number["exclusiveMinimum"], number["maximum"], number["multipleOf"]) == (0, 99999999.99, 0.01)
    assert text["pattern"] == POSITIVE_CENTS_TEXT


@pytest.mark.parametrize("day", ["0", "20260101", "2026-W01-1", "2026-1-5", "2026-01-01T00:00:00", "1767225600"])
async def test_a_day_is_only_ever_yyyy_mm_dd(billing: Billing, day: str) -> None:
    workspace = billing.ids["workspace"]
    for report in ("usage", "charges.csv"):
        response = await billing.request("GET", f"/api/workspaces/{workspace}/{report}?end={day}", billing.owner)
        assert response.status_code == 422, (report, day, response.text)
    ok = await billing.request("GET", f"/api/workspaces/{workspace}/charges.csv?end=2026-12-01", billing.owner)
    assert ok.status_code == 200
