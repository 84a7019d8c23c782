"""AgentWorks provider router.

OpenAI-compatible routing to LLM providers with pricing, retries, breakers and limits.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_pubsub.publisher import MessageSink
from agentworks_pubsub.wiring import start_outbox
from fastapi import FastAPI

from agentworks_provider_router import models
from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_provider_router.models_api import endpoints as models_endpoints
from agentworks_provider_router.pricing import load_prices


def create_app(settings: ProviderRouterSettings | None = None, *, sink: MessageSink | None = None) -> FastAPI:
    """Build the provider router service (uvicorn ``--factory`` entry point); tests may pass the event sink."""
    settings = settings or ProviderRouterSettings()

    async def setup(app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        app.state.prices = load_prices()
        await start_outbox(ctx, stack, models.outbox, sink)

    return create_service_app(
        settings,
        title="AgentWorks provider router",
        description=__doc__ or "",
        routers=[models_endpoints.router],
        setup=setup,
    )
