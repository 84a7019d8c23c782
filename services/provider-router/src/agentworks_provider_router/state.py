"""What the provider router holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass

from agentworks_blobs import BlobStore
from agentworks_platform.app import ServiceContext, state_of
from agentworks_pubsub import Outbox

from agentworks_provider_router.pricing import PriceTable
from agentworks_provider_router.routing import Router


@dataclass(frozen=True, slots=True)
class RouterState:
    """The outbox usage events leave through, the router that picks, limits and meters provider calls, and the
    blobs generated images answered as URLs are kept in, and the price table the model list is read from."""

    outbox: Outbox
    router: Router
    blobs: BlobStore
    prices: PriceTable


def router_state(ctx: ServiceContext) -> RouterState:
    return state_of(ctx, RouterState)
