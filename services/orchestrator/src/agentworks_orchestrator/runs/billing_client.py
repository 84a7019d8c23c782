"""What the orchestrator asks billing: the plan (markup, increment) a new run is priced with."""

from __future__ import annotations

import uuid

from agentworks_internal_api.billing import PLAN, PlanOut
from agentworks_platform.internal_http import InternalClient


class BillingUnavailableError(RuntimeError):
    """Billing did not answer; the triggering event is retried (a run is never priced on a guess)."""


async def pricing_plan(billing: InternalClient, workspace_id: uuid.UUID) -> PlanOut:
    plan = await PLAN.ask(billing, workspace_id, unavailable=BillingUnavailableError)
    if plan is None:  # billing answers every workspace; a 404 is a billing that does not serve the route
        raise BillingUnavailableError("billing has no plan route")
    return plan
