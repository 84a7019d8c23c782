"""Amounts from clients are bounded by what the ledger and the events hold, and refused before any write."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from agentworks_billing.accounts.schemas import PlanIn
from agentworks_billing.models import AMOUNT_MAX
from agentworks_billing.schemas import LARGEST_AMOUNT
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
