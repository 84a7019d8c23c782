"""Reconciliation: settled run costs against recorded provider calls, by endpoint and by command."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from agentworks_billing.cli import main

from .conftest import Billing
from .factories import recorded, settled, usage_history


async def test_reconciliation_reports_mismatched_and_unsettled_runs(
    billing: Billing, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = billing.ids
    now = datetime.now(UTC)
    events = usage_history(ids["workspace"], [ids["shop"]], now - timedelta(hours=20), days=1)
    for event in events:
        await billing.deliver(event)
    window = {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(minutes=1)).isoformat()}
    balanced = await billing.ok("POST", "/internal/reconciliation", json=window, caller="scheduler")
    assert (balanced["balanced"], balanced["differences"]) == (True, [])
    assert balanced["runs_checked"] == sum(1 for e in events if e.type == "usage.run_settled")

    drifted = next(e for e in events if e.type == "usage.run_settled")
    await billing.deliver(
        recorded(ids["workspace"], ids["shop"], drifted.run_id, Decimal("0.0042"), now - timedelta(hours=2))
    )
    never_settled, too_recent = uuid.uuid4(), uuid.uuid4()
    await billing.deliver(
        recorded(ids["workspace"], ids["shop"], never_settled, Decimal("0.01"), now - timedelta(hours=9))
    )
    await billing.deliver(
        recorded(ids["workspace"], ids["shop"], too_recent, Decimal("0.01"), now - timedelta(hours=1))
    )
    await billing.deliver(settled(ids["workspace"], ids["shop"], uuid.uuid4(), Decimal("0.02"), now))  # no metering

    report = await billing.ok("POST", "/internal/reconciliation", json=window, caller="scheduler")
    found = {(d["kind"], d["run_id"]): d for d in report["differences"]}
    assert report["balanced"] is False
    assert len(found) == 3
    mismatch = found[("mismatch", str(drifted.run_id))]
    assert (Decimal(mismatch["recorded_cost"]) - drifted.cost, mismatch["delta"]) == (Decimal("0.0042"), "0.0042")
    assert found[("unsettled", str(never_settled))]["settled_cost"] is None
    assert ("unsettled", str(too_recent)) not in found

    monkeypatch.setenv("AW_BILLING_DATABASE_URL", billing.database_url)
    exit_code = await asyncio.to_thread(main, ["reconcile", "--since", window["since"], "--until", window["until"]])
    output = json.loads(capsys.readouterr().out)
    assert (exit_code, output["balanced"], len(output["differences"])) == (1, False, 3)


async def test_the_plan_command_and_endpoint_price_future_runs(
    billing: Billing, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = billing.ids["workspace"]
    default = await billing.ok("GET", f"/internal/workspaces/{workspace}/plan", caller="orchestrator")
    assert (default["markup"], default["increment"], default["custom"]) == ("5", "0.25", False)
    path = f"/internal/workspaces/{workspace}/plan"
    below = await billing.request("PUT", path, json={"markup": "4.99"}, caller="operator")
    assert below.status_code == 422
    monkeypatch.setenv("AW_BILLING_DATABASE_URL", billing.database_url)
    assert await asyncio.to_thread(main, ["set-plan", str(workspace), "--markup", "7", "--increment", "0.10"]) == 0
    assert "markup 7×" in capsys.readouterr().out
    plan = await billing.ok("GET", path, caller="orchestrator")
    assert (plan["markup"], plan["increment"], plan["custom"]) == ("7", "0.1", True)
    assert await asyncio.to_thread(main, ["set-plan", str(workspace), "--markup", "3"]) == 2
    summary = await billing.ok("GET", f"/api/workspaces/{workspace}/billing", billing.viewer)
    assert summary["plan"] == {"markup": "7", "increment": "0.1"}
