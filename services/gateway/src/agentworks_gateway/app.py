"""AgentWorks gateway.

Identity, sessions and API keys; the public /api surface, the web app and WebSocket entry.
"""

from __future__ import annotations

from agentworks_platform.app import create_service_app
from fastapi import FastAPI

from agentworks_gateway.config import GatewaySettings


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway service (uvicorn ``--factory`` entry point)."""
    settings = settings or GatewaySettings()
    return create_service_app(settings, title="AgentWorks gateway", description=__doc__ or "", routers=[], setup=None)
