"""AgentWorks core.

The system of record: workspaces, members, projects, boards, lanes, cards, agents, runs and documents.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_pubsub import PushReceiver, load_topology
from agentworks_pubsub.wiring import start_outbox
from fastapi import FastAPI

from agentworks_core import models
from agentworks_core.config import CoreSettings


def create_app(settings: CoreSettings | None = None) -> FastAPI:
    """Build the core service (uvicorn ``--factory`` entry point)."""
    settings = settings or CoreSettings()
    receiver = PushReceiver(load_topology(), settings.service_name, models.inbox)

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        await start_outbox(ctx, stack, models.outbox)

    return create_service_app(
        settings, title="AgentWorks core", description=__doc__ or "", routers=[receiver.router()], setup=setup
    )
