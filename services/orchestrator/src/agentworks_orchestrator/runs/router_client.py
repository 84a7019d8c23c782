"""What the orchestrator asks the provider router besides completions: what a run's recorded calls cost."""

from __future__ import annotations

import uuid

from agentworks_internal_api.provider_router import RUN_USAGE
from agentworks_platform.internal_http import InternalClient

from agentworks_orchestrator.runs.executor import Usage


class RouterUnavailableError(RuntimeError):
    """The router did not say what a run has spent; the triggering event is retried (a run taken over is
    never settled without the calls of the attempts before it)."""


async def recorded_usage(router: InternalClient, run_id: uuid.UUID) -> Usage:
    """Every provider call the router recorded for the run, whichever executor made it (one that died too)."""
    spent = await RUN_USAGE.ask(router, run_id, unavailable=RouterUnavailableError)
    if spent is None:  # the route answers for any run; a 404 means a router that does not have it yet
        raise RouterUnavailableError("the provider router cannot say what a run has spent")
    return Usage(
        input_tokens=spent.input_tokens, output_tokens=spent.output_tokens, cost=spent.cost, calls=spent.provider_calls
    )
