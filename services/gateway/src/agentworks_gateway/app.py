"""AgentWorks gateway.

Identity, sessions and API keys; the public /api surface, the web app and WebSocket entry.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
from agentworks_platform.app import ServiceContext, create_service_app, run_in_background
from agentworks_platform.internal_http import InternalClient
from fastapi import FastAPI

from agentworks_gateway.apikeys import endpoints as apikeys
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.credential_watch import CredentialWatch
from agentworks_gateway.git import endpoints as git
from agentworks_gateway.identity import endpoints as identity
from agentworks_gateway.openai_api import endpoints as openai_api
from agentworks_gateway.openai_api.limits import WINDOW_SECONDS, KeyLimits
from agentworks_gateway.paths import PathGuard
from agentworks_gateway.proxy import GATEWAY, PublicApi
from agentworks_gateway.proxy import router as proxy
from agentworks_gateway.ratelimit import service as ratelimit
from agentworks_gateway.routes import RouteTable, load_documents
from agentworks_gateway.security import ApiGuard
from agentworks_gateway.state import GatewayState
from agentworks_gateway.web import router as web
from agentworks_gateway.websockets_relay import router as websockets

# Services the gateway calls besides the owners of public routes (API keys check membership in core, /v1 calls
# the workspace's budget in billing, git's smart HTTP is relayed to the orchestrator).
ALWAYS_CALLED = frozenset({"core", "billing", "orchestrator"})
# Model calls take as long as the model does; the router bounds each with its own timeouts.
MODEL_CALL_TIMEOUT_SECONDS = 900.0


def create_app(
    settings: GatewaySettings | None = None,
    *,
    core_transport: httpx.AsyncBaseTransport | None = None,
    orchestrator_transport: httpx.AsyncBaseTransport | None = None,
    billing_transport: httpx.AsyncBaseTransport | None = None,
    log_stream_transport: httpx.AsyncBaseTransport | None = None,
    provider_router_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the gateway (uvicorn ``--factory`` entry point); tests may route service calls in-process."""
    settings = settings or GatewaySettings()
    documents = load_documents(settings.openapi_dir)
    table = RouteTable.from_documents(documents)
    customer_table = openai_api.customer_table(documents)
    transports = {
        "core": core_transport,
        "orchestrator": orchestrator_transport,
        "billing": billing_transport,
        "log-stream": log_stream_transport,
        "provider-router": provider_router_transport,
    }
    called = table.owners | customer_table.owners | ALWAYS_CALLED
    upstreams = {name: _url_of(settings, name) for name in called - {GATEWAY}}
    public_api = PublicApi(table, {name: doc for name, doc in documents.items() if name != GATEWAY})
    limits = KeyLimits(settings.api_requests_per_minute, settings.api_tokens_per_minute)
    customer_api = openai_api.CustomerApi(customer_table, limits)

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        clients: dict[str, InternalClient] = {}
        for name, url in upstreams.items():
            timeout = MODEL_CALL_TIMEOUT_SECONDS if name in customer_table.owners else 10.0
            clients[name] = InternalClient(url, ctx.tokens, timeout=timeout, transport=transports.get(name))
            stack.push_async_callback(clients[name].aclose)
        watch = CredentialWatch(ctx.db, settings.credential_check_seconds)
        ctx.state = GatewayState(clients, watch, public_api, customer_api)
        run_in_background(stack, watch.run(), "credential-watch")
        run_in_background(stack, ratelimit.prune_periodically(ctx.db, longest_window(settings)), "rate-counter-sweep")

    app = create_service_app(
        settings,
        title="AgentWorks API",
        description=__doc__ or "",
        # web last: it answers every other GET
        routers=[identity.router, apikeys.router, websockets, openai_api.router, git.router, proxy, web],
        setup=setup,
    )
    app.add_middleware(ApiGuard)
    app.add_middleware(PathGuard)  # added last, so it runs first: nothing sees a path it has not checked
    return app


def longest_window(settings: GatewaySettings) -> int:
    """The longest window any of the gateway's limits counts in, in seconds."""
    return max(ratelimit.HOUR, WINDOW_SECONDS, settings.signin_window_minutes * 60)


def _url_of(settings: GatewaySettings, service: str) -> str:
    """The base URL the settings hold for a service (``log-stream`` → ``log_stream_url``)."""
    url = getattr(settings, f"{service.replace('-', '_')}_url", None)
    if not isinstance(url, str):
        raise RuntimeError(f"{service} publishes public routes but the gateway has no {service} URL setting")
    return url
