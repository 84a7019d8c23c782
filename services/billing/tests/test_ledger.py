"""The ledger under at-least-once delivery: duplicates, shuffles, republished settlements and late replays."""

from __future__ import annotations

import random
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agentworks_billing.models import RunCharge, UsageRecord
from agentworks_platform.db import Database
from sqlalchemy import select

from .conftest import Billing
from .factories import settled, usage_history

START = datetime(2026, 10, 1, tzinfo=UTC)


async def ledger(billing: Billing) -> dict[str, Any]:
    """The whole ledger as comparable tuples (ids replaced by stable keys where they are random)."""
    db = Database(billing.database_url)
    try:
        async with db.transaction() as session:
            usage = [
                (r.event_id, r.run_id, r.provider, r.model, r.input_tokens, r.output_tokens, r.images, r.cost, r.day)
                for r in await session.scalars(select(UsageRecord))
            ]
            charges = [
                (c.run_id, c.event_id, c.agent, c.cost, c.unrounded_amount, c.price, c.period, c.provider_calls)
                for c in await session.scalars(select(RunCharge))
            ]
    finally:
        await db.dispose()
    return {"usage": sorted(usage, key=str), "charges": sorted(charges, key=str)}


async def test_duplicate_storm_yields_the_ledger_of_one_delivery(make_billing: Any) -> None:
    async with AsyncExitStack() as stack:
        once = await make_billing(stack)
        storm = await make_billing(stack)
        events = usage_history(once.ids["workspace"], [once.ids["shop"], once.ids["blog"]], START, days=5)
        # each ledger gets the events in its own workspace and projects; the rows compare equal without them
        projects = {once.ids["shop"]: storm.ids["shop"], once.ids["blog"]: storm.ids["blog"]}
        storm_events = [
            e.model_copy(update={"workspace_id": storm.ids["workspace"], "project_id": projects[e.project_id]})
            for e in events
        ]
        for event in events:
            await once.deliver(event)
        copies = [event for event in storm_events for _ in range(10)]
        random.Random(3).shuffle(copies)
        for start in range(0, len(copies), 37):  # pulled batches, copies of one event often in the same batch
            await storm.deliver(*copies[start : start + 37])
        single, stormy = await ledger(once), await ledger(storm)
    assert len(single["usage"]) == sum(1 for e in events if e.type == "usage.recorded")
    assert len(single["charges"]) == sum(1 for e in events if e.type == "usage.run_settled")
    assert stormy == single


async def test_a_republished_settlement_with_a_new_event_id_charges_the_run_once(billing: Billing) -> None:
    ids = billing.ids
    first = settled(ids["workspace"], ids["shop"], uuid.uuid4(), Decimal("0.3"), START)
    again = first.model_copy(update={"id": uuid.uuid4(), "price": Decimal("9.75")})
    await billing.deliver(first)
    await billing.deliver(again)
    charges = (await ledger(billing))["charges"]
    assert [(c[1], c[5]) for c in charges] == [(first.id, Decimal("1.5"))]


async def test_a_late_replay_of_a_dead_lettered_event_is_a_no_op(billing: Billing) -> None:
    ids = billing.ids
    now = datetime.now(UTC)
    events = usage_history(ids["workspace"], [ids["shop"]], now - timedelta(days=1), days=1)
    await billing.ok("PUT", f"/api/workspaces/{ids['workspace']}/budgets/workspace", json={"monthly_cap": "0.50"})
    for event in events:
        await billing.deliver(event)
    before, notices = await ledger(billing), len(billing.sink.events())
    # days later, the dead-letter subscription's copies are replayed: new message ids, high attempt counts
    for event in events:
        await billing.deliver(event, attempt=16)
    assert await ledger(billing) == before
    assert len(billing.sink.events()) == notices
