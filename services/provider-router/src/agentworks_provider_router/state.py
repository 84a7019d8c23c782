"""What the provider router holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass

from agentworks_platform.app import ServiceContext, state_of
from agentworks_pubsub import Outbox

from agentworks_provider_router.routing import Router


@dataclass(frozen=True, slots=True)
class RouterState:
    """The outbox usage events leave through and the router that picks, limits and meters provider calls."""

    outbox: Outbox
    router: Router


def router_state(ctx: ServiceContext) -> RouterState:
    return state_of(ctx, RouterState)
