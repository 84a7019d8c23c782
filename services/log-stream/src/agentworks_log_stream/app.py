"""AgentWorks log stream.

Stores run log lines by seq and streams them to terminals and live boards.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_blobs import BlobStore, GcsBlobs, LocalBlobs
from agentworks_platform.app import ServiceContext, create_service_app, run_in_background, stop_task
from agentworks_platform.db import Database
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import PushReceiver, load_topology
from agentworks_pubsub.ownership import Ownership
from fastapi import FastAPI

from agentworks_log_stream import models
from agentworks_log_stream.boards import endpoints as boards
from agentworks_log_stream.config import LogStreamSettings
from agentworks_log_stream.history import endpoints as history
from agentworks_log_stream.state import LogStreamState
from agentworks_log_stream.terminal import endpoints as terminal
from agentworks_log_stream.terminal.archive import Archiver
from agentworks_log_stream.terminal.fanout import Fanout
from agentworks_log_stream.terminal.handlers import handlers
from agentworks_log_stream.terminal.hub import Hub
from agentworks_log_stream.terminal.verify import VERIFIERS


def create_app(settings: LogStreamSettings | None = None, *, core_client: InternalClient | None = None) -> FastAPI:
    """Build log-stream (uvicorn ``--factory`` entry point); tests may pass the core client."""
    settings = settings or LogStreamSettings()
    hub = Hub(settings.client_queue_size)
    db = Database(settings.database_url, settings.db_pool, app_role=settings.db_app_role)
    fanout = Fanout(db, hub, probe_seconds=settings.listener_probe_seconds)
    blobs: BlobStore = (
        GcsBlobs(settings.logs_bucket) if settings.blobs_backend == "gcs" else LocalBlobs(settings.blobs_dir)
    )
    archiver = Archiver(db, blobs, settings.retain_lines_hours)
    receiver = PushReceiver(
        load_topology(),
        settings.service_name,
        models.inbox,
        handlers(fanout, archiver),
        verifiers=VERIFIERS,
    )

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        listener = await fanout.start()
        stack.push_async_callback(stop_task, listener)
        ctx.ready_checks.append(fanout.ready)
        core = core_client or InternalClient(settings.core_url, ctx.tokens)
        stack.push_async_callback(core.aclose)
        ctx.state = LogStreamState(hub, fanout, archiver, core, Ownership(core))
        run_in_background(stack, archiver.prune_periodically(), "log-stream-retention")

    return create_service_app(
        settings,
        title="AgentWorks log stream",
        description=__doc__ or "",
        routers=[
            terminal.router,
            boards.router,
            history.router,
            history.transcript,
            history.internal,
            receiver.router(),
        ],
        setup=setup,
    )
