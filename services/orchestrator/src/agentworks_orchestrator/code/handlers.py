"""The code domain's reaction to card-events: a deleted project's repository and records go with it."""

from __future__ import annotations

from agentworks_events import ProjectDeleted
from agentworks_platform.app import ServiceContext
from agentworks_pubsub import PermanentEventError, PushMessage

from agentworks_orchestrator.code import service
from agentworks_orchestrator.state import code_of


async def on_project_deleted(ctx: ServiceContext, event: ProjectDeleted, _push: PushMessage) -> None:
    """Remove the project's repository once core no longer has the project: an event naming a project that still
    exists is refused, never acted on. Core being unreachable is transient: the event comes again."""
    code = code_of(ctx)
    if await service.project_exists(code, event.project_id):
        raise PermanentEventError(f"project {event.project_id} still exists; its repository is kept")
    await service.forget_project(code, event.project_id)
