"""What the orchestrator asks billing: the plan (markup, increment) a new run is priced with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx
from agentworks_platform.internal_http import InternalClient


class BillingUnavailableError(RuntimeError):
    """Billing did not answer; the triggering event is retried (a run is never priced on a guess)."""


@dataclass(frozen=True, slots=True)
class PricingPlan:
    markup: Decimal
    increment: Decimal


async def pricing_plan(billing: InternalClient, workspace_id: uuid.UUID) -> PricingPlan:
    try:
        response = await billing.request("GET", f"/internal/workspaces/{workspace_id}/plan")
    except httpx.HTTPError as exc:
        raise BillingUnavailableError(f"billing is unreachable: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise BillingUnavailableError(f"billing answered {response.status_code}")
    body = response.json()
    return PricingPlan(Decimal(body["markup"]), Decimal(body["increment"]))
