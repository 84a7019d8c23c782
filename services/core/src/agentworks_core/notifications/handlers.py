"""Core's reaction to billing's budget signals (usage-events, ``usage.budget_*``): the workspace's owners are told
in their inbox. Each runs in the push receiver's transaction, so the inbox row and the notifications commit
together."""

from __future__ import annotations

from typing import Any

from agentworks_events import UsageBudgetExceeded, UsageBudgetWarning
from agentworks_platform.db import set_tenant
from agentworks_pubsub import PermanentEventError, PushMessage
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import Project
from agentworks_core.notifications import service
from agentworks_core.runs import repository as runs


async def on_budget(session: AsyncSession, event: UsageBudgetWarning | UsageBudgetExceeded, _push: PushMessage) -> None:
    await _ensure_owned(session, event)
    await set_tenant(session, workspace_id=event.workspace_id)
    project = await session.get(Project, event.budget_project_id) if event.budget_project_id else None
    await service.notify_owners(session, event, project)


async def _ensure_owned(session: AsyncSession, event: Any) -> None:
    """The projects the event names are its workspace's (the resource index sees every tenant)."""
    named = {event.project_id} | ({event.budget_project_id} if event.budget_project_id else set())
    entries = {entry.id: entry for entry in await runs.index_entries(session, list(named))}
    for project_id in named:
        entry = entries.get(project_id)
        if entry is None or (entry.kind, entry.workspace_id) != ("project", event.workspace_id):
            raise PermanentEventError(f"project {project_id} is not one of workspace {event.workspace_id}'s")


def handlers() -> dict[str, dict[str, Any]]:
    return {"core-usage-events": {"usage.budget_warning": on_budget, "usage.budget_exceeded": on_budget}}
