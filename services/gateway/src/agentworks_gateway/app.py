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
from agentworks_gateway.identity import endpoints as identity
from agentworks_gateway.paths import PathGuard
from agentworks_gateway.proxy import GATEWAY, PublicApi
from agentworks_gateway.proxy import router as proxy
from agentworks_gateway.routes import RouteTable, load_documents
from agentworks_gateway.security import ApiGuard
from agentworks_gateway.web import router as web
from agentworks_gateway.websockets_relay import router as websockets

# Services the gateway calls besides the owners of public routes (API keys check membership in core).
ALWAYS_CALLED = frozenset({"core"})


def create_app(
    settings: GatewaySettings | None = None,
    *,
    core_transport: httpx.AsyncBaseTransport | None = None,
    orchestrator_transport: httpx.AsyncBaseTransport | None = None,
    billing_transport: httpx.AsyncBaseTransport | None = None,
    log_stream_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the gateway (uvicorn ``--factory`` entry point); tests may route service calls in-process."""
    settings = settings or GatewaySettings()
    documents = load_documents(settings.openapi_dir)
    table = RouteTable.from_documents(documents)
    transports = {
        "core": core_transport,
        "orchestrator": orchestrator_transport,
        "billing": billing_transport,
        "log-stream": log_stream_transport,
    }
    upstreams = {name: _url_of(settings, name) for name in (table.owners | ALWAYS_CALLED) - {GATEWAY}}

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        for name, url in upstreams.items():
            client = InternalClient(url, ctx.tokens, transport=transports.get(name))
            stack.push_async_callback(client.aclose)
            ctx.extras[name] = client
        watch = CredentialWatch(ctx.db, settings.credential_check_seconds)
        ctx.extras["credential_watch"] = watch
        run_in_background(stack, watch.run(), "credential-watch")

    app = create_service_app(
        settings,
        title="AgentWorks API",
        description=__doc__ or "",
        routers=[identity.router, apikeys.router, websockets, proxy, web],  # web last: it answers every other GET
        setup=setup,
    )
    app.state.public_api = PublicApi(table, {name: doc for name, doc in documents.items() if name != GATEWAY})
    app.add_middleware(ApiGuard)
    app.add_middleware(PathGuard)  # added last, so it runs first: nothing sees a path it has not checked
    return app


def _url_of(settings: GatewaySettings, service: str) -> str:
    """The base URL the settings hold for a service (``log-stream`` → ``log_stream_url``)."""
    url = getattr(settings, f"{service.replace('-', '_')}_url", None)
    if not isinstance(url, str):
        raise RuntimeError(f"{service} publishes public routes but the gateway has no {service} URL setting")
    return url
