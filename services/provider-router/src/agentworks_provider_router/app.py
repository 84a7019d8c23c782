"""AgentWorks provider router.

OpenAI-compatible routing to LLM providers with pricing, retries, breakers and limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AsyncExitStack

from agentworks_blobs import BlobStore, GcsBlobs, LocalBlobs
from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_pubsub import Outbox
from agentworks_pubsub.publisher import MessageSink
from agentworks_pubsub.wiring import start_outbox
from agentworks_secrets import EnvSecrets, SecretManagerSecrets, SecretSource
from fastapi import FastAPI

from agentworks_provider_router import models
from agentworks_provider_router.chat import endpoints as chat
from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_provider_router.embeddings import endpoints as embeddings
from agentworks_provider_router.models_api import endpoints as models_endpoints
from agentworks_provider_router.openai_errors import install_openai_errors
from agentworks_provider_router.pricing import load_prices
from agentworks_provider_router.providers.base import Provider
from agentworks_provider_router.providers.registry import build_providers
from agentworks_provider_router.resilience import LimitSettings
from agentworks_provider_router.responses import endpoints as responses
from agentworks_provider_router.routing import Router, RouterPolicy
from agentworks_provider_router.run_usage import endpoints as run_usage
from agentworks_provider_router.state import RouterState
from agentworks_provider_router.usage import UsageRecorder


def policy_from(settings: ProviderRouterSettings) -> RouterPolicy:
    return RouterPolicy(
        max_attempts=settings.max_attempts,
        backoff_base=settings.backoff_base_seconds,
        backoff_max=settings.backoff_max_seconds,
        max_retry_after=settings.max_retry_after_seconds,
        first_byte_timeout=settings.call_timeout_seconds,
        idle_timeout=settings.call_timeout_seconds,
        fallbacks=settings.fallbacks,
        offline_when_unconfigured=settings.offline_when_unconfigured,
        limits={name: LimitSettings(**limits.model_dump()) for name, limits in settings.limits.items()},
        breaker_threshold=settings.breaker_threshold,
        breaker_cooldown=settings.breaker_cooldown_seconds,
    )


def create_app(
    settings: ProviderRouterSettings | None = None,
    *,
    sink: MessageSink | None = None,
    providers: dict[str, Provider] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """Build the provider router (uvicorn ``--factory`` entry point); tests may pass the sink, the providers and
    the clock its circuit breakers cool down by."""
    settings = settings or ProviderRouterSettings()

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        prices = load_prices()
        # A call's usage row commits before the answer returns; its publish does not hold the answer up.
        outbox = await start_outbox(ctx, stack, models.outbox, sink, outbox=Outbox(models.outbox, background=True))
        secrets: SecretSource = (
            SecretManagerSecrets(settings.gcp_project) if settings.secrets_backend == "secret-manager" else EnvSecrets()
        )
        routing = Router(
            prices,
            providers or await build_providers(settings, secrets),
            policy_from(settings),
            UsageRecorder(ctx.db, outbox),
            clock,
        )
        stack.push_async_callback(routing.aclose)
        blobs: BlobStore = (
            GcsBlobs(settings.images_bucket) if settings.blobs_backend == "gcs" else LocalBlobs(settings.blobs_dir)
        )
        ctx.state = RouterState(outbox, routing, blobs, prices)

    app = create_service_app(
        settings,
        title="AgentWorks provider router",
        description=__doc__ or "",
        routers=[models_endpoints.router, chat.router, embeddings.router, responses.router, run_usage.router],
        setup=setup,
    )
    install_openai_errors(app)
    return app
