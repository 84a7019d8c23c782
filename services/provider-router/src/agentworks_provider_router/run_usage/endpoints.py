"""``GET /internal/runs/{run_id}/usage``: what a run's recorded provider calls add up to, for the orchestrator
attempt that settles the run (it includes the calls of attempts whose executor died)."""

from __future__ import annotations

import uuid

from agentworks_internal_api.provider_router import RunUsageOut
from agentworks_platform.app import SessionDep, allow_callers
from fastapi import APIRouter, Depends

from agentworks_provider_router.run_usage import service

router = APIRouter(prefix="/internal", tags=["internal"])


@router.get(
    "/runs/{run_id}/usage",
    dependencies=[Depends(allow_callers("orchestrator"))],
    summary="What a run's recorded provider calls add up to",
)
async def run_usage(run_id: uuid.UUID, session: SessionDep) -> RunUsageOut:
    spend = await service.spend_of(session, run_id)
    return RunUsageOut(
        run_id=run_id,
        provider_calls=spend.provider_calls,
        input_tokens=spend.input_tokens,
        output_tokens=spend.output_tokens,
        cost=spend.cost,
    )
