"""AgentWorks log stream.

Stores run log lines by seq and streams them to terminals and live boards.
"""

from __future__ import annotations

from agentworks_platform.app import create_service_app
from agentworks_pubsub import PushReceiver, load_topology
from fastapi import FastAPI

from agentworks_log_stream import models
from agentworks_log_stream.config import LogStreamSettings


def create_app(settings: LogStreamSettings | None = None) -> FastAPI:
    """Build the log stream service (uvicorn ``--factory`` entry point)."""
    settings = settings or LogStreamSettings()
    receiver = PushReceiver(load_topology(), settings.service_name, models.inbox)
    return create_service_app(
        settings,
        title="AgentWorks log stream",
        description=__doc__ or "",
        routers=[receiver.router()],
        setup=None,
    )
