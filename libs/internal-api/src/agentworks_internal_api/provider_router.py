"""The provider router's internal route: what a run's recorded provider calls add up to."""

from __future__ import annotations

import uuid

from agentworks_events import Money

from agentworks_internal_api.answers import Answer
from agentworks_internal_api.route import Lookup


class RunUsageOut(Answer):
    """Every provider call recorded for the run, one usage record each, whatever attempt made it."""

    run_id: uuid.UUID
    provider_calls: int
    input_tokens: int
    output_tokens: int
    cost: Money


RUN_USAGE = Lookup("provider-router", "/internal/runs/{run_id}/usage", RunUsageOut)
