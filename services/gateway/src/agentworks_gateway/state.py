"""What the gateway holds for its lifetime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agentworks_platform.app import ServiceContext, state_of
from agentworks_platform.internal_http import InternalClient

from agentworks_gateway.credential_watch import CredentialWatch


@dataclass(frozen=True, slots=True)
class GatewayState:
    """A client for each service the gateway calls (by service name), and the watch that closes the WebSockets
    of revoked credentials."""

    upstreams: Mapping[str, InternalClient]
    credential_watch: CredentialWatch


def gateway_state(ctx: ServiceContext) -> GatewayState:
    return state_of(ctx, GatewayState)
