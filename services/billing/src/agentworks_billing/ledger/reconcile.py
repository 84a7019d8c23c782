"""Reconciliation: each settled run's cost must equal the sum of its recorded provider calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from agentworks_events import utc_now
from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger
from sqlalchemy import func, select

from agentworks_billing.models import RunCharge, UsageRecord

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Difference:
    """``mismatch``: settled cost ≠ recorded cost; ``unsettled``: usage recorded but the run never settled."""

    kind: str
    run_id: uuid.UUID
    workspace_id: uuid.UUID
    recorded_cost: Decimal
    settled_cost: Decimal | None

    @property
    def delta(self) -> Decimal:
        return self.recorded_cost - (self.settled_cost or Decimal(0))


@dataclass
class Reconciliation:
    since: datetime
    until: datetime
    runs_checked: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.differences


async def reconcile(db: Database, since: datetime, until: datetime, grace: timedelta) -> Reconciliation:
    """Compare charges settled in [since, until) with their metering, and find metered runs never settled."""
    report = Reconciliation(since, until)
    recorded = (
        select(UsageRecord.run_id, func.sum(UsageRecord.cost).label("cost"))
        .where(UsageRecord.run_id.is_not(None))
        .group_by(UsageRecord.run_id)
        .subquery()
    )
    charges = (
        select(RunCharge.run_id, RunCharge.workspace_id, RunCharge.cost, recorded.c.cost)
        .outerjoin(recorded, recorded.c.run_id == RunCharge.run_id)
        .where(RunCharge.occurred_at >= since, RunCharge.occurred_at < until)
    )
    unsettled = (
        select(UsageRecord.run_id, UsageRecord.workspace_id, func.sum(UsageRecord.cost))
        .outerjoin(RunCharge, RunCharge.run_id == UsageRecord.run_id)
        .where(UsageRecord.run_id.is_not(None), RunCharge.run_id.is_(None))
        .where(UsageRecord.occurred_at >= since, UsageRecord.occurred_at < min(until, utc_now() - grace))
        .group_by(UsageRecord.run_id, UsageRecord.workspace_id)
    )
    async with db.transaction() as session:
        for run_id, workspace_id, settled, recorded_cost in (await session.execute(charges)).all():
            report.runs_checked += 1
            metered = recorded_cost if recorded_cost is not None else Decimal(0)
            if metered != settled:
                report.differences.append(Difference("mismatch", run_id, workspace_id, metered, settled))
        for unsettled_run, workspace_id, metered in (await session.execute(unsettled)).all():
            if unsettled_run is not None:
                report.differences.append(Difference("unsettled", unsettled_run, workspace_id, metered, None))
    (log.warning if report.differences else log.info)(
        "billing.reconciled",
        since=since.isoformat(),
        until=until.isoformat(),
        runs=report.runs_checked,
        differences=len(report.differences),
    )
    return report
