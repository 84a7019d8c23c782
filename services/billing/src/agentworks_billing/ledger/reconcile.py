"""Reconciliation: each settled run's cost must equal the sum of its recorded provider calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from agentworks_events import utc_now
from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger

from agentworks_billing.ledger import repository

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
    async with db.transaction() as session:
        for run_id, workspace_id, settled, recorded_cost in await repository.settled_runs(session, since, until):
            report.runs_checked += 1
            metered = recorded_cost if recorded_cost is not None else Decimal(0)
            if metered != settled:
                report.differences.append(Difference("mismatch", run_id, workspace_id, metered, settled))
        unsettled = await repository.unsettled_runs(session, since, min(until, utc_now() - grace))
        for unsettled_run, workspace_id, metered in unsettled:
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
