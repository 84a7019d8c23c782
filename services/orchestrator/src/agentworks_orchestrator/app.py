"""AgentWorks orchestrator.

Runs the agents mapped to a lane when a card moves; leases, attempts and run control.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_pubsub import PushReceiver, load_topology
from agentworks_pubsub.wiring import start_outbox
from fastapi import FastAPI

from agentworks_orchestrator import models
from agentworks_orchestrator.config import OrchestratorSettings


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    """Build the orchestrator service (uvicorn ``--factory`` entry point)."""
    settings = settings or OrchestratorSettings()
    receiver = PushReceiver(load_topology(), settings.service_name, models.inbox)

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        await start_outbox(ctx, stack, models.outbox)

    return create_service_app(
        settings,
        title="AgentWorks orchestrator",
        description=__doc__ or "",
        routers=[receiver.router()],
        setup=setup,
    )
