"""AgentWorks provider router.

OpenAI-compatible routing to LLM providers with pricing, retries, breakers and limits.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_pubsub.wiring import start_outbox
from fastapi import FastAPI

from agentworks_provider_router import models
from agentworks_provider_router.config import ProviderRouterSettings


def create_app(settings: ProviderRouterSettings | None = None) -> FastAPI:
    """Build the provider router service (uvicorn ``--factory`` entry point)."""
    settings = settings or ProviderRouterSettings()

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        await start_outbox(ctx, stack, models.outbox)

    return create_service_app(
        settings, title="AgentWorks provider router", description=__doc__ or "", routers=[], setup=setup
    )
