"""Budgets: warning at 80%, exceeded at 100% (each once), changes announced, owners only, cost spikes."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .conftest import Billing
from .factories import recorded, settled


def now() -> datetime:
    return datetime.now(UTC)


async def charge(billing: Billing, price_cost: Decimal, project: str = "shop") -> None:
    await billing.deliver(settled(billing.ids["workspace"], billing.ids[project], uuid.uuid4(), price_cost, now()))


async def test_warning_then_exceeded_once_each(billing: Billing) -> None:
    workspace = billing.ids["workspace"]
    out = await billing.ok("PUT", f"/api/workspaces/{workspace}/budgets/workspace", json={"monthly_cap": "1.25"})
    assert (out["monthly_cap"], out["spent"], out["state"]) == ("1.25", "0", "ok")
    changed = billing.published("usage.budget_changed")
    assert [(e.scope, e.cap, e.spent, e.exceeded) for e in changed] == [("workspace", Decimal("1.25"), 0, False)]

    await charge(billing, Decimal("0.1"))  # $0.50
    await charge(billing, Decimal("0.01"))  # $0.25: $0.75 is 60%
    assert billing.published("usage.budget_warning") == []
    await charge(billing, Decimal("0.01"))  # $1.00 is 80%
    assert [(w.cap, w.spent) for w in billing.published("usage.budget_warning")] == [(Decimal("1.25"), 1)]
    assert billing.published("usage.budget_exceeded") == []
    await charge(billing, Decimal("0.01"))  # $1.25 is 100%
    await charge(billing, Decimal("0.01"))
    exceeded = billing.published("usage.budget_exceeded")
    assert [(e.cap, e.spent, e.period) for e in exceeded] == [
        (Decimal("1.25"), Decimal("1.25"), now().strftime("%Y-%m"))
    ]
    assert len(billing.published("usage.budget_warning")) == 1

    budgets = await billing.ok("GET", f"/api/workspaces/{workspace}/budgets", billing.viewer)
    assert [(b["scope"], b["spent"], b["percent"], b["state"]) for b in budgets] == [
        ("workspace", "1.5", "120", "exceeded")
    ]


async def test_one_batch_crossing_both_thresholds_of_two_budgets_sends_each_notice_once(billing: Billing) -> None:
    ids = billing.ids
    await billing.ok("PUT", f"/api/workspaces/{ids['workspace']}/budgets/workspace", json={"monthly_cap": "1.00"})
    project_path = f"/api/workspaces/{ids['workspace']}/budgets/projects/{ids['shop']}"
    await billing.ok("PUT", project_path, json={"monthly_cap": "0.50"})
    runs = [settled(ids["workspace"], ids[p], uuid.uuid4(), Decimal("0.01"), now()) for p in ("shop", "blog") * 3]
    await billing.deliver(*runs, *runs[:2])  # $1.50 in six runs, two of them delivered twice, in one batch
    warnings, exceeded = billing.published("usage.budget_warning"), billing.published("usage.budget_exceeded")
    assert sorted((w.scope, w.cap, w.spent) for w in warnings) == [
        ("project", Decimal("0.5"), Decimal("0.75")),
        ("workspace", Decimal("1"), Decimal("1.5")),
    ]
    assert sorted((e.scope, e.cap, e.spent) for e in exceeded) == sorted((w.scope, w.cap, w.spent) for w in warnings)
    await billing.deliver(*runs)  # the whole batch again, as after a lost acknowledgement
    assert len(billing.published("usage.budget_warning")) == 2
    assert len(billing.published("usage.budget_exceeded")) == 2


async def test_concurrent_batches_that_cross_a_cap_together_send_the_notices(billing: Billing) -> None:
    """Each batch alone stays under the cap; whichever commits second must see the other's charge."""
    ids = billing.ids
    await billing.ok("PUT", f"/api/workspaces/{ids['workspace']}/budgets/workspace", json={"monthly_cap": "0.90"})
    first, second = (settled(ids["workspace"], ids[p], uuid.uuid4(), Decimal("0.1"), now()) for p in ("shop", "blog"))
    warm = (recorded(ids["workspace"], ids["shop"], uuid.uuid4(), Decimal(0), now()) for _ in range(2))
    await asyncio.gather(*(billing.deliver(event) for event in warm))  # two pooled connections, ready at once
    await asyncio.gather(billing.deliver(first), billing.deliver(second))  # $0.50 each, in two transactions
    assert [(e.cap, e.spent) for e in billing.published("usage.budget_exceeded")] == [(Decimal("0.9"), 1)]
    assert len(billing.published("usage.budget_warning")) == 1


async def test_raising_the_cap_is_announced_and_can_warn_again(billing: Billing) -> None:
    workspace = billing.ids["workspace"]
    path = f"/api/workspaces/{workspace}/budgets/workspace"
    await billing.ok("PUT", path, json={"monthly_cap": "0.50"})
    await charge(billing, Decimal("0.1"))
    assert len(billing.published("usage.budget_exceeded")) == 1
    await billing.ok("PUT", path, json={"monthly_cap": "0.60"})
    last = billing.published("usage.budget_changed")[-1]
    assert (last.cap, last.spent, last.exceeded) == (Decimal("0.6"), Decimal("0.5"), False)
    assert len(billing.published("usage.budget_warning")) == 2  # 0.50 ≥ 80% of the new 0.60 cap
    response = await billing.request("DELETE", path, billing.owner)
    assert response.status_code == 204
    removed = billing.published("usage.budget_changed")[-1]
    assert (removed.cap, removed.exceeded) == (None, False)
    assert await billing.ok("GET", f"/api/workspaces/{workspace}/budgets") == []


async def test_a_project_budget_counts_only_that_project(billing: Billing) -> None:
    ids = billing.ids
    await billing.ok(
        "PUT", f"/api/workspaces/{ids['workspace']}/budgets/projects/{ids['blog']}", json={"monthly_cap": "0.5"}
    )
    await charge(billing, Decimal("0.2"), "shop")
    assert billing.published("usage.budget_exceeded") == []
    await charge(billing, Decimal("0.1"), "blog")
    [event] = billing.published("usage.budget_exceeded")
    assert (event.scope, event.budget_project_id, event.project_id, event.spent) == (
        "project",
        ids["blog"],
        ids["blog"],
        Decimal("0.5"),
    )


async def test_only_owners_set_budgets_and_bad_caps_are_refused(billing: Billing) -> None:
    ids = billing.ids
    path = f"/api/workspaces/{ids['workspace']}/budgets/workspace"
    for person in (billing.member, billing.viewer):
        response = await billing.request("PUT", path, person, {"monthly_cap": "5"})
        assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    for cap in ("-1", "0", "1.001", "abc", None):
        response = await billing.request("PUT", path, billing.owner, {"monthly_cap": cap})
        assert response.status_code == 422, cap
        assert "error" in response.json()
    stranger = billing.owner.__class__(uuid.uuid4(), "stranger@example.com", None, "r", "")
    response = await billing.request("GET", f"/api/workspaces/{ids['workspace']}/budgets", stranger)
    assert response.status_code == 404
    other_project = f"/api/workspaces/{ids['workspace']}/budgets/projects/{uuid.uuid4()}"
    response = await billing.request("PUT", other_project, billing.owner, {"monthly_cap": "5"})
    assert response.status_code == 404
    response = await billing.request("DELETE", path, billing.owner)
    assert response.status_code == 404


async def test_a_day_above_the_trailing_average_by_half_alerts_once(make_billing: Any) -> None:
    async with AsyncExitStack() as stack:
        billing = await make_billing(stack, spike_check_seconds=0)
        await _spike_day(billing)


async def _spike_day(billing: Billing) -> None:
    ids = billing.ids
    today = now()
    for days_ago in range(1, 8):
        run = uuid.uuid4()
        await billing.deliver(
            recorded(ids["workspace"], ids["shop"], run, Decimal("1.00"), today - timedelta(days=days_ago))
        )
    await billing.deliver(recorded(ids["workspace"], ids["shop"], uuid.uuid4(), Decimal("1.50"), today))
    summary = await billing.ok("GET", f"/api/workspaces/{ids['workspace']}/billing")
    assert summary["cost_alerts"] == []  # exactly +50% is not more than 50%
    await billing.deliver(recorded(ids["workspace"], ids["shop"], uuid.uuid4(), Decimal("0.01"), today))
    await billing.deliver(recorded(ids["workspace"], ids["shop"], uuid.uuid4(), Decimal("0.01"), today))
    summary = await billing.ok("GET", f"/api/workspaces/{ids['workspace']}/billing")
    [alert] = summary["cost_alerts"]
    assert (alert["day"], alert["day_cost"], alert["trailing_average"], alert["percent_of_average"]) == (
        today.date().isoformat(),
        "1.51",
        "1",
        "151",
    )
    viewer = await billing.ok("GET", f"/api/workspaces/{ids['workspace']}/billing", billing.viewer)
    assert (viewer["cost_alerts"][0]["day_cost"], viewer["cost_alerts"][0]["percent_of_average"]) == (None, "151")
