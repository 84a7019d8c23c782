"""Run endpoints on the card (the seed's ``POST /api/cards/:id/agents/:agent/run`` and ``GET …/runs``),
re-runs, and the run context the orchestrator reads."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_internal_api.core import CardGateOut, RunContextOut
from agentworks_platform.app import SessionDep, allow_callers
from agentworks_platform.bounds import INTEGER_MAX
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Depends, Query

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.agents.schemas import AgentKey
from agentworks_core.runs import service
from agentworks_core.runs.schemas import CardRuns, Decision, DecisionIn, RunIn, RunRequested
from agentworks_core.state import OutboxDep

router = APIRouter(prefix="/api", tags=["runs"], responses=error_responses(404, 409))
internal = APIRouter(prefix="/internal", tags=["internal"], responses=error_responses(404))


@router.post("/cards/{card_id}/agents/{agent}/run", status_code=202, summary="Run one agent on a card now")
async def run_agent(
    card_id: uuid.UUID,
    agent: AgentKey,
    session: SessionDep,
    principal: PrincipalDep,
    outbox: OutboxDep,
    body: RunIn | None = None,
) -> RunRequested:
    access = await authorize_resource(session, principal, "card", card_id, "agent_run")
    return await service.request_run(session, access, outbox, card_id, agent, body.instructions if body else "")


@router.get("/cards/{card_id}/runs", summary="A card's runs, newest first, with totals")
async def card_runs(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> CardRuns:
    access = await authorize_resource(session, principal, "card", card_id, "read")
    return await service.card_runs(session, access, card_id)


@router.post("/runs/{run_id}/rerun", status_code=202, summary="Run the same agent on the same card again")
async def rerun(run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep) -> RunRequested:
    access = await authorize_resource(session, principal, "run", run_id, "agent_run")
    return await service.rerun(session, access, outbox, run_id)


@router.post("/runs/{run_id}/approve", summary="Approve a run held at its lane's approval gate")
async def approve(
    run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep, body: DecisionIn | None = None
) -> Decision:
    access = await authorize_resource(session, principal, "run", run_id, "write")
    return await service.decide(session, access, outbox, run_id, True, (body or DecisionIn()).comment)


@router.post("/runs/{run_id}/reject", summary="Reject a gated run; the same agent redoes it with the comment")
async def reject(
    run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep, body: DecisionIn | None = None
) -> Decision:
    access = await authorize_resource(session, principal, "run", run_id, "agent_run")
    return await service.decide(session, access, outbox, run_id, False, (body or DecisionIn()).comment)


@internal.get(
    "/projects/{project_id}/run-context",
    dependencies=[Depends(allow_callers("orchestrator"))],
    summary="What an agent run needs to know",
)
async def run_context(
    project_id: uuid.UUID,
    session: SessionDep,
    card_id: uuid.UUID | None = None,
    lane_number: Annotated[int | None, Query(ge=0, le=INTEGER_MAX)] = None,
) -> RunContextOut:
    return await service.run_context(session, project_id, card_id, lane_number)


@internal.get(
    "/cards/{card_id}/gate",
    dependencies=[Depends(allow_callers("orchestrator"))],
    summary="A card's owners, title, lane and whether a run on it waits at an approval gate",
)
async def card_gate(card_id: uuid.UUID, session: SessionDep) -> CardGateOut:
    return await service.card_gate(session, card_id)
