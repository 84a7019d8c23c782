"""Budget thresholds: a warning at 80% of a cap and an exceeded notice at 100%, each once per cap and period."""

from __future__ import annotations

import uuid
from decimal import Decimal

from agentworks_events import Event, UsageBudgetChanged, UsageBudgetExceeded, UsageBudgetWarning, utc_now
from agentworks_platform.logging import get_logger
from agentworks_pubsub import Outbox
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_billing.ledger import repository
from agentworks_billing.models import Budget

log = get_logger(__name__)
NO_PROJECT = uuid.UUID(int=0)
"""``project_id`` of workspace-wide budget events that no single project caused (a cap change, API calls)."""


def scope_of(budget: Budget) -> dict[str, object]:
    if budget.project_id is None:
        return {"scope": "workspace", "budget_project_id": None}
    return {"scope": "project", "budget_project_id": budget.project_id}


class BudgetWatch:
    """Compares a budget's spend with its cap and stages the notices that are due in the outbox."""

    def __init__(self, outbox: Outbox, warning_ratio: Decimal) -> None:
        self.outbox = outbox
        self.warning_ratio = warning_ratio

    async def spent(self, session: AsyncSession, budget: Budget, period: str) -> Decimal:
        return await repository.spent(session, budget.workspace_id, budget.project_id, period)

    async def evaluate(self, session: AsyncSession, budget: Budget, period: str, project_id: object) -> None:
        """Send the notices that are due; ``project_id`` is the project any event must name."""
        spent = await self.spent(session, budget, period)
        cap = budget.monthly_cap
        due: list[tuple[str, type[UsageBudgetWarning | UsageBudgetExceeded]]] = []
        if spent >= cap * self.warning_ratio:
            due.append(("warning", UsageBudgetWarning))
        if spent >= cap:
            due.append(("exceeded", UsageBudgetExceeded))
        for kind, event_type in due:
            notice = {
                "scope_id": budget.scope_id,
                "period": period,
                "kind": kind,
                "cap": cap,
                "workspace_id": budget.workspace_id,
                "spent": spent,
                "created_at": utc_now(),
            }
            if not await repository.add_notice(session, notice):
                continue
            event = event_type(
                workspace_id=budget.workspace_id,
                project_id=budget.project_id or project_id,
                period=period,
                cap=cap,
                spent=spent,
                **scope_of(budget),
            )
            await self.outbox.add(session, event)
            log.warning(f"budget.{kind}", workspace_id=str(budget.workspace_id), cap=str(cap), spent=str(spent))

    async def changed(
        self, session: AsyncSession, budget: Budget, cap: Decimal | None, period: str, project_id: object
    ) -> Event:
        """Announce a new (or removed, ``cap`` None) cap; the orchestrator lifts or applies its gate from it."""
        event = UsageBudgetChanged(
            workspace_id=budget.workspace_id,
            project_id=budget.project_id or project_id,
            period=period,
            cap=cap,
            spent=await self.spent(session, budget, period),
            **scope_of(budget),
        )
        await self.outbox.add(session, event)
        return event
