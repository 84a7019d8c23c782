"""What log-stream holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass

from agentworks_platform.app import ServiceContext, state_of
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub.ownership import Ownership

from agentworks_log_stream.terminal.archive import Archiver
from agentworks_log_stream.terminal.fanout import Fanout
from agentworks_log_stream.terminal.hub import Hub


@dataclass(frozen=True, slots=True)
class LogStreamState:
    """The local hub of open terminals and boards, the fan-out between instances, the line archive, and
    core (its client, and the cached answers on who owns a card, board or project)."""

    hub: Hub
    fanout: Fanout
    archiver: Archiver
    core: InternalClient
    ownership: Ownership


def log_stream_state(ctx: ServiceContext) -> LogStreamState:
    return state_of(ctx, LogStreamState)
