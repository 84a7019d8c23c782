"""Period close and Stripe, with the real stripe SDK against a local fake of its API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from agentworks_billing.invoices.payments import Payments
from agentworks_billing.models import Invoice, StripeEvent
from agentworks_billing.state import billing_state
from agentworks_localstack.threads import AppThread, free_port
from agentworks_platform.db import Database
from sqlalchemy import func, select

from .conftest import BILLING_URL, Billing
from .factories import settled, usage_history
from .stripe_fake import API_KEY, StripeFake, signature, webhook_event

SEPTEMBER = datetime(2026, 9, 10, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
WEBHOOK_SECRET = "whsec_agentworks_test"


class Paid:
    """Billing with payment collection on, and the fake Stripe it talks to."""

    def __init__(self, billing: Billing, fake: StripeFake) -> None:
        self.billing = billing
        self.fake = fake

    async def close(self, period: str) -> dict[str, Any]:
        response = await self.billing.request("POST", f"/internal/periods/{period}/close", caller="scheduler")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def invoices(self) -> list[dict[str, Any]]:
        page = await self.billing.ok("GET", f"/api/workspaces/{self.billing.ids['workspace']}/invoices")
        items: list[dict[str, Any]] = page["items"]
        return items

    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        path = f"/api/workspaces/{self.billing.ids['workspace']}/invoices/{invoice_id}"
        detail: dict[str, Any] = await self.billing.ok("GET", path)
        return detail

    async def webhook(self, payload: bytes, header: str | None) -> httpx.Response:
        headers = {"content-type": "application/json", **self.billing.headers(BILLING_URL, None)}
        if header is not None:
            headers["stripe-signature"] = header
        async with self.billing.client(self.billing.app, BILLING_URL) as client:
            return await client.post("/webhooks/stripe", content=payload, headers=headers)


@pytest.fixture
async def paid(make_billing: Any) -> AsyncIterator[Paid]:
    fake = StripeFake()
    port = free_port()
    thread = AppThread(fake.app(), port=port).start()
    try:
        async with AsyncExitStack() as stack:
            secrets = {"stripe-secret-key": API_KEY, "stripe-webhook-secret": WEBHOOK_SECRET}
            billing = await make_billing(stack, secrets, stripe_api_base=thread.url, stripe_max_retries=2)
            yield Paid(billing, fake)
    finally:
        thread.stop()


async def push_history(billing: Billing) -> list[Any]:
    events = usage_history(billing.ids["workspace"], [billing.ids["shop"], billing.ids["blog"]], OCTOBER, days=6)
    for event in events:
        await billing.deliver(event)
    return events


async def test_closing_a_period_invoices_each_project_and_agent_through_stripe(paid: Paid) -> None:
    events = await push_history(paid.billing)
    closed = await paid.close("2026-10")
    assert (len(closed["invoices"]), closed["carried_over"], closed["payment_collection"]) == (1, [], True)
    assert closed["sent_to_stripe"] == closed["invoices"]
    invoice = await paid.invoice(closed["invoices"][0])
    charged = sum((e.price for e in events if e.type == "usage.run_settled"), Decimal(0))
    assert (invoice["status"], Decimal(invoice["total"]), invoice["carried_in"]) == ("open", charged, "0")
    groups = {(e.project_id, e.agent) for e in events if e.type == "usage.run_settled" and e.price > 0}
    assert {(uuid.UUID(line["project_id"]), line["agent"]) for line in invoice["lines"]} == groups

    [stripe_invoice] = paid.fake.invoices.values()
    assert stripe_invoice["id"] == invoice["stripe_invoice_id"]
    assert (stripe_invoice["status"], stripe_invoice["total"]) == ("open", int(charged * 100))
    assert stripe_invoice["metadata"]["agentworks_invoice_id"] == invoice["id"]
    assert sorted(item["amount"] for item in paid.fake.lines_of(stripe_invoice["id"])) == sorted(
        int(Decimal(line["amount"]) * 100) for line in invoice["lines"]
    )
    assert invoice["hosted_invoice_url"]
    assert invoice["finalized_at"]

    calls = len(paid.fake.requests)
    again = await paid.close("2026-10")
    assert (again["invoices"], again["sent_to_stripe"]) == ([], [])
    assert len(paid.fake.requests) == calls


async def test_a_lost_stripe_response_is_retried_with_the_same_key_and_bills_once(paid: Paid) -> None:
    await push_history(paid.billing)
    paid.fake.lose_response_once = {"/v1/invoices", "/v1/invoiceitems"}
    closed = await paid.close("2026-10")
    assert closed["sent_to_stripe"] == closed["invoices"]
    creates = [key for method, path, key in paid.fake.requests if (method, path) == ("POST", "/v1/invoices")]
    assert len(creates) == 2
    assert creates[0] == creates[1] == f"aw-invoice-{closed['invoices'][0]}"
    assert len(paid.fake.invoices) == 1
    invoice = await paid.invoice(closed["invoices"][0])
    assert len(paid.fake.items) == len(invoice["lines"])


async def test_a_crash_after_stripe_created_the_invoice_resumes_without_a_second_one(
    paid: Paid, monkeypatch: pytest.MonkeyPatch
) -> None:
    await push_history(paid.billing)
    original = Payments._save
    crashed: list[bool] = []

    async def crash_once(self: Payments, invoice_id: uuid.UUID, **values: Any) -> None:
        if "stripe_invoice_id" in values and not crashed:
            crashed.append(True)
            raise ConnectionError("the process died before saving Stripe's id")
        await original(self, invoice_id, **values)

    monkeypatch.setattr(Payments, "_save", crash_once)
    with pytest.raises(ConnectionError):
        await billing_state(paid.billing.app.state.ctx).jobs.close_period("2026-10")
    [invoice] = await paid.invoices()
    assert (invoice["stripe_invoice_id"], invoice["finalized_at"]) == (None, None)

    resumed = await paid.close("2026-10")
    assert resumed["sent_to_stripe"] == [uuid.UUID(invoice["id"])] or resumed["sent_to_stripe"] == [invoice["id"]]
    assert len(paid.fake.invoices) == 1
    detail = await paid.invoice(invoice["id"])
    assert len(paid.fake.items) == len(detail["lines"])
    assert detail["finalized_at"]


async def test_amounts_below_the_minimum_carry_over_to_the_next_invoice(paid: Paid) -> None:
    ids = paid.billing.ids
    await paid.billing.deliver(settled(ids["workspace"], ids["shop"], uuid.uuid4(), Decimal("0.01"), SEPTEMBER))
    september = await paid.close("2026-09")
    assert (september["invoices"], len(september["carried_over"]), paid.fake.requests) == ([], 1, [])
    await paid.billing.deliver(
        settled(ids["workspace"], ids["blog"], uuid.uuid4(), Decimal("0.09"), OCTOBER, agent="qa")
    )
    october = await paid.close("2026-10")
    invoice = await paid.invoice(october["invoices"][0])
    assert (invoice["charges"], invoice["carried_in"], invoice["total"]) == ("0.5", "0.25", "0.75")
    assert next(line["description"] for line in invoice["lines"]).startswith("Carried over from 2026-09")
    [stripe_invoice] = paid.fake.invoices.values()
    assert stripe_invoice["total"] == 75
    earlier = await paid.invoice(september["carried_over"][0])
    assert (earlier["status"], earlier["carried_into"]) == ("carried_over", invoice["id"])


async def test_webhooks_are_verified_deduplicated_and_move_the_invoice_forward(paid: Paid) -> None:
    await push_history(paid.billing)
    closed = await paid.close("2026-10")
    [stripe_invoice] = paid.fake.invoices.values()
    paid_event = webhook_event("evt_paid_1", "invoice.paid", {**stripe_invoice, "status": "paid"})
    stamp = int(datetime.now(UTC).timestamp())

    refused = [
        (paid_event.replace(b"invoice.paid", b"invoice.void"), signature(paid_event, WEBHOOK_SECRET)),
        (paid_event, signature(paid_event, "whsec_someone_else")),
        (paid_event, signature(paid_event, WEBHOOK_SECRET, stamp - int(timedelta(minutes=10).total_seconds()))),
        (paid_event, None),
        (b"not json", signature(b"not json", WEBHOOK_SECRET)),
    ]
    for payload, header in refused:
        response = await paid.webhook(payload, header)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] in ("invalid_signature", "invalid_payload")
    assert (await paid.invoice(closed["invoices"][0]))["status"] == "open"

    failed = webhook_event("evt_failed_1", "invoice.payment_failed", stripe_invoice)
    assert (await paid.webhook(failed, signature(failed, WEBHOOK_SECRET))).json() == {
        "received": True,
        "duplicate": False,
    }
    assert (await paid.invoice(closed["invoices"][0]))["status"] == "payment_failed"
    for expected_duplicate in (False, True):
        response = await paid.webhook(paid_event, signature(paid_event, WEBHOOK_SECRET))
        assert response.json() == {"received": True, "duplicate": expected_duplicate}
    late_failure = webhook_event("evt_failed_2", "invoice.payment_failed", stripe_invoice)
    await paid.webhook(late_failure, signature(late_failure, WEBHOOK_SECRET))
    invoice = await paid.invoice(closed["invoices"][0])
    assert (invoice["status"], invoice["failure_message"]) == ("paid", None)
    assert invoice["paid_at"]

    db = Database(paid.billing.database_url)
    try:
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(StripeEvent)) == 3
            assert (await session.scalar(select(Invoice.status))) == "paid"
    finally:
        await db.dispose()


async def test_without_a_stripe_key_billing_works_and_says_collection_is_off(billing: Billing) -> None:
    await push_history(billing)
    summary = await billing.ok("GET", f"/api/workspaces/{billing.ids['workspace']}/billing")
    assert summary["payment_collection"]["enabled"] is False
    assert "Payment collection is off" in summary["payment_collection"]["message"]
    response = await billing.request("POST", "/internal/periods/2026-10/close", caller="scheduler")
    body = response.json()
    assert (len(body["invoices"]), body["sent_to_stripe"], body["payment_collection"]) == (1, [], False)
    webhook = await billing.request("POST", "/webhooks/stripe", json={})
    assert (webhook.status_code, webhook.json()["error"]["code"]) == (404, "payments_off")


async def test_period_close_refuses_open_or_malformed_periods(billing: Billing) -> None:
    this_month = datetime.now(UTC).strftime("%Y-%m")
    for period, status, code in (
        (this_month, 409, "period_open"),
        ("2026-13", 422, "invalid_period"),
        ("oct", 422, "invalid_period"),
    ):
        response = await billing.request("POST", f"/internal/periods/{period}/close", caller="scheduler")
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    previous = await billing.request("POST", "/internal/periods/previous/close", caller="scheduler")
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert (previous.status_code, previous.json()["period"]) == (200, last_month)
    for caller in ("gateway", "orchestrator", "operator"):  # only Cloud Scheduler closes periods
        response = await billing.request("POST", "/internal/periods/2026-10/close", billing.owner, caller=caller)
        assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
