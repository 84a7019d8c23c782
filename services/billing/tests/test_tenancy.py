"""A usage event lands in a workspace's ledger only with that workspace's project, and a run stays where it began."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from agentworks_billing.models import RunCharge, UsageRecord, inbox
from agentworks_platform.db import Database
from sqlalchemy import select

from .conftest import Billing, person
from .factories import recorded, settled

AT = datetime(2026, 10, 3, 12, tzinfo=UTC)


def _other_project(billing: Billing) -> tuple[uuid.UUID, uuid.UUID]:
    tenancy = billing.core.tenancy(person("stranger").user_id)
    return tenancy.workspace, tenancy.project


async def _ledger_of(billing: Billing, workspace: uuid.UUID) -> tuple[list[uuid.UUID], list[uuid.UUID], set[str]]:
    """The workspace's usage runs and charged runs, and every rejected event id."""
    db = Database(billing.database_url)
    try:
        async with db.transaction() as session:
            usage = list(await session.scalars(select(UsageRecord.run_id).where(UsageRecord.workspace_id == workspace)))
            charged = list(await session.scalars(select(RunCharge.run_id).where(RunCharge.workspace_id == workspace)))
            rejected = set(await session.scalars(select(inbox.c.event_id).where(inbox.c.outcome == "rejected")))
    finally:
        await db.dispose()
    return [u for u in usage if u], charged, rejected


async def test_usage_naming_another_workspaces_project_stays_out_of_the_ledger(billing: Billing) -> None:
    _, foreign_project = _other_project(billing)
    workspace, run = billing.ids["workspace"], uuid.uuid4()
    forged = [
        recorded(workspace, foreign_project, run, Decimal("0.5"), AT),
        settled(workspace, foreign_project, run, Decimal("0.5"), AT),
    ]
    genuine = recorded(workspace, billing.ids["shop"], uuid.uuid4(), Decimal("0.1"), AT)
    await billing.deliver(*forged, genuine)
    usage, charged, rejected = await _ledger_of(billing, workspace)
    assert (usage, charged) == ([genuine.run_id], [])
    assert {str(e.id) for e in forged} <= rejected


async def test_usage_cannot_claim_a_run_another_workspace_already_has(billing: Billing) -> None:
    other_workspace, other_project = _other_project(billing)
    run = uuid.uuid4()
    await billing.deliver(recorded(other_workspace, other_project, run, Decimal("0.2"), AT))
    workspace = billing.ids["workspace"]
    forged = [
        recorded(workspace, billing.ids["shop"], run, Decimal("0.3"), AT),
        settled(workspace, billing.ids["shop"], run, Decimal("0.3"), AT),
    ]
    await billing.deliver(*forged)
    usage, charged, rejected = await _ledger_of(billing, workspace)
    assert (usage, charged) == ([], [])
    assert {str(e.id) for e in forged} <= rejected
    assert (await _ledger_of(billing, other_workspace))[0] == [run]
