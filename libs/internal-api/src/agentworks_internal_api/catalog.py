"""Every internal route one service of the fleet calls on another. ``contracts.py --check`` holds each to the
schema its serving service publishes, and a route another service calls that is missing here fails it."""

from __future__ import annotations

from agentworks_internal_api import billing, core, provider_router
from agentworks_internal_api.route import InternalRoute

ROUTES: tuple[InternalRoute, ...] = (
    core.MEMBERSHIP,
    core.CARD_OWNER,
    core.BOARD_OWNER,
    core.PROJECT_OWNER,
    core.RUN_CONTEXT,
    core.CARD_DOCUMENTS,
    core.CARD_DOCUMENT,
    core.CARD_GATE,
    core.AUDIT,
    billing.PLAN,
    billing.API_ALLOWANCE,
    provider_router.RUN_USAGE,
)
