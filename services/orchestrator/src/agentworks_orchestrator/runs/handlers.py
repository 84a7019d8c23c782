"""The orchestrator's reaction to card-events (a card moved or a run was asked for; a project deleted, which the
code domain handles) and to billing's budget events. Each is a worker: it runs its own short transactions, and the
receiver records the event once it returns."""

from __future__ import annotations

from typing import Any

from agentworks_platform.app import ServiceContext
from agentworks_pubsub import PushMessage
from agentworks_pubsub.receiver import WorkerMap

from agentworks_orchestrator.code import handlers as code_handlers
from agentworks_orchestrator.state import run_service_of


async def on_card_event(ctx: ServiceContext, event: Any, _push: PushMessage) -> None:
    await run_service_of(ctx).on_card_event(event)


async def on_budget_event(ctx: ServiceContext, event: Any, _push: PushMessage) -> None:
    await run_service_of(ctx).on_budget_event(event)


BUDGET_EVENTS = ("usage.budget_warning", "usage.budget_exceeded", "usage.budget_changed")

WORKERS: WorkerMap = {
    "orchestrator-card-events": {
        "card.moved": on_card_event,
        "card.run_requested": on_card_event,
        "project.deleted": code_handlers.on_project_deleted,
    },
    "orchestrator-usage-events": dict.fromkeys(BUDGET_EVENTS, on_budget_event),
}
