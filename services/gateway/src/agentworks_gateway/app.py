"""AgentWorks gateway.

Identity, sessions and API keys; the public /api surface, the web app and WebSocket entry.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_platform.internal_http import InternalClient
from fastapi import FastAPI

from agentworks_gateway.apikeys import endpoints as apikeys
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.identity import endpoints as identity
from agentworks_gateway.proxy import router as proxy
from agentworks_gateway.security import ApiGuard
from agentworks_gateway.web import router as web
from agentworks_gateway.websockets_relay import router as websockets


def create_app(
    settings: GatewaySettings | None = None,
    *,
    core_transport: httpx.AsyncBaseTransport | None = None,
    orchestrator_transport: httpx.AsyncBaseTransport | None = None,
    billing_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the gateway (uvicorn ``--factory`` entry point); tests may route service calls in-process."""
    settings = settings or GatewaySettings()
    upstreams = {
        "core": (settings.core_url, core_transport),
        "orchestrator": (settings.orchestrator_url, orchestrator_transport),
        "billing": (settings.billing_url, billing_transport),
    }

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        for name, (url, transport) in upstreams.items():
            client = InternalClient(url, ctx.tokens, transport=transport)
            stack.push_async_callback(client.aclose)
            ctx.extras[name] = client

    app = create_service_app(
        settings,
        title="AgentWorks API",
        description=__doc__ or "",
        routers=[identity.router, apikeys.router, websockets, proxy, web],  # web last: it answers every other GET
        setup=setup,
    )
    app.add_middleware(ApiGuard)
    return app
