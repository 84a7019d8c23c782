"""What the gateway holds for its lifetime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentworks_platform.app import ServiceContext, state_of
from agentworks_platform.internal_http import InternalClient

from agentworks_gateway.credential_watch import CredentialWatch

if TYPE_CHECKING:  # both read the state back, so they are imported for their types only
    from agentworks_gateway.openai_api.endpoints import CustomerApi
    from agentworks_gateway.proxy import PublicApi


@dataclass(frozen=True, slots=True)
class GatewayState:
    """A client for each service the gateway calls (by service name), the watch that closes the WebSockets of
    revoked credentials, and the public and OpenAI-compatible surfaces it routes."""

    upstreams: Mapping[str, InternalClient]
    credential_watch: CredentialWatch
    public_api: PublicApi
    customer_api: CustomerApi


def gateway_state(ctx: ServiceContext) -> GatewayState:
    return state_of(ctx, GatewayState)
