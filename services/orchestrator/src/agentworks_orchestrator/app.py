"""AgentWorks orchestrator.

Runs the agents mapped to a lane when a card moves; leases, attempts and run control.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime

import httpx
import openai
from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_platform.clock import utc_now
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import Outbox, PushReceiver, load_topology
from agentworks_pubsub.publisher import MessageSink
from agentworks_pubsub.wiring import start_outbox
from agentworks_repos import RepositoryHost, SecureSourceManagerHost
from agentworks_sandbox import Sandbox
from agentworks_secrets import SecretSource
from fastapi import FastAPI

from agentworks_orchestrator import models
from agentworks_orchestrator.code import endpoints as code
from agentworks_orchestrator.code.attempts import CodeAttempts
from agentworks_orchestrator.code.service import CodeContext
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.runs import endpoints as runs
from agentworks_orchestrator.runs.executor import RunExecutor
from agentworks_orchestrator.runs.handlers import WORKERS
from agentworks_orchestrator.runs.service import RunService
from agentworks_orchestrator.state import (
    OrchestratorState,
    repository_host_from_settings,
    sandbox_from_orchestrator_settings,
    secrets_from_settings,
)


def create_app(
    settings: OrchestratorSettings | None = None,
    *,
    sink: MessageSink | None = None,
    core_client: InternalClient | None = None,
    billing_client: InternalClient | None = None,
    router_client: InternalClient | None = None,
    llm: openai.AsyncOpenAI | None = None,
    repos: RepositoryHost | None = None,
    sandbox: Sandbox | None = None,
    secrets: SecretSource | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """Build the orchestrator (uvicorn ``--factory`` entry point); tests may pass the sink, the clients, the
    repository host, the sandbox, the secrets and the clock leases are measured by."""
    settings = settings or OrchestratorSettings()
    receiver = PushReceiver(load_topology(), settings.service_name, models.inbox, workers=WORKERS)

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        # A run goes on as soon as its state is committed: its events are handed to Pub/Sub in order on
        # the run's ordering key, and nothing the run does next waits for Pub/Sub's answer.
        outbox = await start_outbox(ctx, stack, models.outbox, sink, outbox=Outbox(models.outbox, background=True))
        core = core_client or InternalClient(settings.core_url, ctx.tokens)
        stack.push_async_callback(core.aclose)
        billing = billing_client or InternalClient(settings.billing_url, ctx.tokens)
        stack.push_async_callback(billing.aclose)
        router_url = settings.provider_router_url.rstrip("/")
        router = router_client or InternalClient(router_url, ctx.tokens)
        stack.push_async_callback(router.aclose)

        async def token() -> str:
            return await ctx.tokens.token_for(router_url)

        client = llm or openai.AsyncOpenAI(
            api_key=token, base_url=f"{router_url}/v1", max_retries=2, timeout=settings.lease_seconds * 4
        )
        stack.push_async_callback(client.close)
        owner = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        host = repos or repository_host_from_settings(settings)
        if isinstance(host, SecureSourceManagerHost):
            stack.push_async_callback(host.aclose)
        commands = sandbox or sandbox_from_orchestrator_settings(settings, stack)
        # A clone or push of a big repository streams for minutes; git never pauses this long between chunks.
        relay = httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0))
        stack.push_async_callback(relay.aclose)
        code_context = CodeContext(
            ctx.db, core, host, settings, relay, outbox, secrets or secrets_from_settings(settings)
        )
        unavailable = commands.available()
        attempts = CodeAttempts(
            ctx.db,
            code_context,
            None if unavailable else commands,
            unavailable,
            settings.command_limits.sandbox_limits(),
            settings.working_copies_dir,
        )
        executor = RunExecutor(ctx.db, outbox, client, settings, owner, clock, attempts)
        run_service = RunService(ctx.db, outbox, (core, billing, router), executor, settings)
        ctx.state = OrchestratorState(outbox, run_service, host, code_context, commands)

    return create_service_app(
        settings,
        title="AgentWorks orchestrator",
        description=__doc__ or "",
        routers=[runs.router, code.router, code.git_http, receiver.router()],
        setup=setup,
    )
