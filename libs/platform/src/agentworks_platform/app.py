"""The app factory every service is built on: logging, tracing, errors, health, lifespan-managed clients."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request, WebSocketException
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from agentworks_platform.db import Database
from agentworks_platform.errors import (
    COMMON_ERRORS,
    Forbidden,
    Unauthenticated,
    document_error_envelope,
    install_error_handlers,
)
from agentworks_platform.heap import serving_heap
from agentworks_platform.input_rules import document_text_rule, refuse_nul_text
from agentworks_platform.logging import configure_logging, get_logger
from agentworks_platform.service_auth import (
    LOCAL_ISSUER,
    GoogleIdTokenSource,
    LocalTokenSigner,
    PublishedCerts,
    StaticCerts,
    TokenError,
    TokenSource,
    TokenVerifier,
    VerifiedCaller,
    bearer_token,
    ensure_dev_key,
)
from agentworks_platform.settings import ServiceSettings
from agentworks_platform.telemetry import configure_tracing

ReadyCheck = Callable[[], Awaitable[None]]
State = TypeVar("State")
log = get_logger(__name__)


@dataclass
class ServiceContext:
    """What a running service holds for its lifetime: settings, database, token source and verifier, and
    ``state``, the service's own typed state (a dataclass its setup builds), read back with ``state_of``."""

    settings: ServiceSettings
    db: Database
    tokens: TokenSource
    verifier: TokenVerifier
    ready_checks: list[ReadyCheck] = field(default_factory=list)
    state: object = None


def state_of(ctx: ServiceContext, kind: type[State]) -> State:
    """The service's typed state; a service whose setup has not kept a ``kind`` has a wiring fault."""
    state = ctx.state
    if not isinstance(state, kind):
        raise TypeError(f"the service keeps {type(state).__name__}, not {kind.__name__}")
    return state


def build_auth(settings: ServiceSettings) -> tuple[TokenSource, TokenVerifier]:
    """Google ID tokens in production; the local key in dev and tests. Verification code is shared."""
    trusted = {settings.pubsub_push_email, *settings.trusted_callers.values()}
    if settings.is_production:
        return GoogleIdTokenSource(), TokenVerifier(PublishedCerts(), settings.audience, trusted)
    key = ensure_dev_key(settings.dev_signing_key_file)
    signer = LocalTokenSigner(key, settings.service_account_email)
    verifier = TokenVerifier(StaticCerts.from_private_key(key), settings.audience, trusted, issuers=(LOCAL_ISSUER,))
    return signer, verifier


Setup = Callable[[FastAPI, ServiceContext, AsyncExitStack], Awaitable[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    setup: Setup | None = None,
    db: Database | None = None,
) -> FastAPI:
    """Build a service: ``setup`` runs in the lifespan to create clients and register ready checks."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(
            settings.service_name,
            settings.gcp_project,
            settings.log_level,
            [s.get_secret_value() for s in settings.secret_values],
        )
        configure_tracing(settings.service_name, settings.trace_exporter, settings.gcp_project)
        tokens, verifier = build_auth(settings)
        database = db or Database(settings.database_url, settings.db_pool, app_role=settings.db_app_role)
        context = ServiceContext(settings, database, tokens, verifier)
        app.state.ctx = context
        async with AsyncExitStack() as stack:
            stack.push_async_callback(context.db.dispose)
            if setup is not None:
                await setup(app, context, stack)
            log.info("service.started", url=settings.public_url, environment=settings.environment)
            with serving_heap():
                yield
        log.info("service.stopped")

    # FastAPI's own OpenTelemetry server span per request (named by route, continuing the caller's W3C
    # trace context); spans for each dependency, endpoint and serialisation step would cost more than they tell.
    telemetry: TelemetryConfig = {"operation_spans": False}
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        telemetry=telemetry,
        dependencies=[Depends(refuse_nul_text)],
    )
    install_error_handlers(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router, responses=COMMON_ERRORS)
    _publish_input_rules(app)
    return app


CALLERS_EXTENSION = "x-agentworks-callers"


def _publish_input_rules(app: FastAPI) -> None:
    """The app's OpenAPI document states the app-wide input rules (no NUL in text) in its schemas, and on each
    operation a service token guards, the services it admits (``x-agentworks-callers``)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document = generate()
        if first:
            document_error_envelope(document)
            document_text_rule(document)
            _document_callers(app, document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _document_callers(app: FastAPI, document: dict[str, Any]) -> None:
    for route in served_routes(app):
        callers = admitted_callers(route)
        operations = document.get("paths", {}).get(str(route.path), {})
        for method in route.methods or ():
            operation = operations.get(method.lower()) if callers is not None else None
            if operation is not None:
                operation[CALLERS_EXTENSION] = sorted(callers or ())


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run_in_background(stack: AsyncExitStack, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    """Start ``work`` for the service's lifetime; the lifespan's exit stack cancels it at shutdown."""
    task = asyncio.create_task(work, name=name)
    stack.push_async_callback(stop_task, task)
    return task


def context_of(connection: HTTPConnection) -> ServiceContext:
    ctx: ServiceContext = connection.app.state.ctx
    return ctx


async def request_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """Dependency: one transaction per request, committed before the response is sent."""
    async with context_of(request).db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(request_transaction, scope="function")]


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process is serving")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: the database and every dependency check answer")
    async def readyz(request: Request) -> JSONResponse:
        ctx = context_of(request)
        started = time.perf_counter()
        try:
            async with ctx.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            for check in ctx.ready_checks:
                await check()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready", "ms": round((time.perf_counter() - started) * 1000, 2)})

    return router


CALLER_REFUSED = "caller is not allowed to call this endpoint"


class AllowCallers:
    """Dependency of a route other services call: verifies the caller's service token and admits only the named
    services (``Depends(allow_callers("gateway", "orchestrator"))``).

    Any other caller is refused with 403 even when its token is valid. Names resolve to service-account emails
    through the settings (``caller_emails``). On WebSockets a refusal closes the handshake (4401 or 4403).
    The verified caller is kept on ``request.state.service_caller``.
    """

    def __init__(self, callers: Iterable[str]) -> None:
        self.callers = frozenset(callers)
        if not self.callers:
            raise ValueError("name at least one calling service")

    async def __call__(self, connection: HTTPConnection) -> VerifiedCaller:
        ctx: ServiceContext = connection.app.state.ctx
        try:
            token = bearer_token(connection.headers.get("authorization"))
            caller = await ctx.verifier.verify(token, allowed_emails=ctx.settings.caller_emails(self.callers))
        except TokenError as exc:
            raise _refusal(connection, exc) from None
        connection.state.service_caller = caller
        return caller


def allow_callers(*callers: str) -> AllowCallers:
    """The dependency admitting only ``callers`` (service names, e.g. ``"gateway"``, ``"scheduler"``)."""
    return AllowCallers(callers)


def _refusal(connection: HTTPConnection, exc: TokenError) -> Exception:
    if connection.scope["type"] == "websocket":
        return WebSocketException(4401 if exc.status == 401 else 4403, exc.reason)
    return (Unauthenticated if exc.status == 401 else Forbidden)(exc.reason)


def served_routes(app: FastAPI) -> list[RouteContext]:
    """Every route the app serves, each with the dependencies its routers add (FastAPI includes routers lazily)."""
    return list(iter_route_contexts(app.routes))


def admitted_callers(route: BaseRoute | RouteContext) -> frozenset[str] | None:
    """The services a route admits (every ``AllowCallers`` on it must pass); None when it declares none."""
    dependant: Dependant | None = getattr(route, "dependant", None)
    rules = [d.call.callers for d in _dependants(dependant) if isinstance(d.call, AllowCallers)]
    return frozenset.intersection(*rules) if rules else None


def _dependants(dependant: Dependant | None) -> Iterator[Dependant]:
    if dependant is None:
        return
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)
