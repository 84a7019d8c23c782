"""Calls made with workspace API keys: charged per call with the markup, one invoice line per period rounded
once, counted towards the workspace's budget, and the allowance the gateway asks before each call."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agentworks_events import UsageRecorded

from .conftest import Billing
from .factories import settled

OCTOBER = datetime(2026, 10, 12, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 3, tzinfo=UTC)


def api_call(billing: Billing, cost: str, at: datetime, key: uuid.UUID | None = None) -> UsageRecorded:
    return UsageRecorded(
        workspace_id=billing.ids["workspace"],
        api_key_id=key or uuid.uuid4(),
        provider="openai",
        model="gpt-4o",
        requested_provider="openai",
        input_tokens=1000,
        output_tokens=100,
        cost=Decimal(cost),
        latency_ms=300,
        outcome="success",
        occurred_at=at,
    )


async def close(billing: Billing, period: str) -> dict[str, Any]:
    response = await billing.request("POST", f"/internal/periods/{period}/close", caller="scheduler")
    assert response.status_code == 200, response.text
    invoices = await billing.ok("GET", f"/api/workspaces/{billing.ids['workspace']}/invoices")
    [invoice] = [i for i in invoices["items"] if i["period"] == period]
    detail: dict[str, Any] = await billing.ok(
        "GET", f"/api/workspaces/{billing.ids['workspace']}/invoices/{invoice['id']}"
    )
    return detail


async def test_a_periods_api_calls_are_one_line_rounded_once_beside_the_run_lines(billing: Billing) -> None:
    calls = [api_call(billing, "0.0012345", OCTOBER) for _ in range(30)]  # 30 × 0.0012345 × 5 = 0.1851750
    run = uuid.uuid4()
    await billing.deliver(*calls, settled(billing.ids["workspace"], billing.ids["shop"], run, Decimal("0.1"), OCTOBER))
    await billing.deliver(calls[0])  # a redelivery changes nothing
    await billing.deliver(api_call(billing, "0.5", NOVEMBER))  # the next period's, not on October's invoice

    invoice = await close(billing, "2026-10")
    lines = {line["description"]: line for line in invoice["lines"]}
    api = lines["API usage in 2026-10 (30 calls, provider cost × markup)"]
    assert (api["amount"], api["runs"], api["project_id"], api["agent"]) == ("0.19", 30, None, None)
    assert invoice["total"] == "0.69"  # the run's 0.50 (0.1 × 5) and the calls' 0.19, not 30 × 0.25
    again = await close(billing, "2026-10")
    assert again["id"] == invoice["id"]


async def test_api_calls_use_the_markup_at_metering_and_count_towards_the_workspace_budget(billing: Billing) -> None:
    workspace = billing.ids["workspace"]
    operator_plan = {"markup": "8", "increment": "0.25"}
    assert (
        await billing.request("PUT", f"/internal/workspaces/{workspace}/plan", json=operator_plan, caller="operator")
    ).status_code == 200
    await billing.ok("PUT", f"/api/workspaces/{workspace}/budgets/workspace", json={"monthly_cap": "1.00"})
    allowance = f"/internal/workspaces/{workspace}/api-allowance"
    assert (await billing.ok("GET", allowance))["allowed"] is True

    now = datetime.now(UTC)
    await billing.deliver(api_call(billing, "0.1", now))  # 0.8 of 1.00: a warning
    assert [w.spent for w in billing.published("usage.budget_warning")] == [Decimal("0.8")]
    assert (await billing.ok("GET", allowance))["allowed"] is True
    await billing.deliver(api_call(billing, "0.025", now))  # 1.00: spent
    [exceeded] = billing.published("usage.budget_exceeded")
    assert (exceeded.scope, exceeded.spent) == ("workspace", Decimal("1"))
    refused = await billing.ok("GET", allowance)
    assert (refused["allowed"], refused["monthly_cap"], refused["spent"]) == (False, "1", "1")

    page = await billing.ok("GET", f"/api/workspaces/{workspace}/billing")
    assert (page["api_calls"], page["api_charges_to_date"], page["runs"]) == (2, "1", 0)
    other = await billing.request("GET", allowance, caller="orchestrator")
    assert other.status_code == 403


async def test_a_workspace_without_a_budget_may_always_call(billing: Billing) -> None:
    allowance = await billing.ok("GET", f"/internal/workspaces/{uuid.uuid4()}/api-allowance")
    assert (allowance["allowed"], allowance["monthly_cap"], allowance["spent"]) == (True, None, None)
