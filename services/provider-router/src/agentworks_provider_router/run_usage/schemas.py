"""What the orchestrator reads of a run's usage."""

from __future__ import annotations

import uuid

from agentworks_events import Money
from pydantic import BaseModel


class RunUsageOut(BaseModel):
    """Every provider call recorded for the run, one usage record each, whatever attempt made it."""

    run_id: uuid.UUID
    provider_calls: int
    input_tokens: int
    output_tokens: int
    cost: Money
