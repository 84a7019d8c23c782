"""Run endpoints on the card (the seed's ``POST /api/cards/:id/agents/:agent/run`` and ``GET …/runs``),
re-runs, and the run context the orchestrator reads."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from agentworks_platform.app import SessionDep, allow_callers
from agentworks_platform.bounds import INTEGER_MAX
from agentworks_platform.db import set_tenant
from agentworks_platform.errors import NotFound, error_responses
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import PrincipalDep, authorize_resource, workspace_of
from agentworks_core.agents import service as agents
from agentworks_core.agents.schemas import AgentKey
from agentworks_core.cards.endpoints import OutboxDep
from agentworks_core.models import Card, Document, DocumentVersion, Lane, Project
from agentworks_core.runs import service
from agentworks_core.runs.service import CardRuns, RunRequested

router = APIRouter(prefix="/api", tags=["runs"], responses=error_responses(404, 409))
internal = APIRouter(prefix="/internal", tags=["internal"])


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instructions: Annotated[str, Field(max_length=4000)] = ""


@router.post("/cards/{card_id}/agents/{agent}/run", status_code=202, summary="Run one agent on a card now")
async def run_agent(
    card_id: uuid.UUID,
    agent: AgentKey,
    session: SessionDep,
    principal: PrincipalDep,
    outbox: OutboxDep,
    body: RunRequest | None = None,
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


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: Annotated[str, Field(max_length=4000)] = ""


@router.post("/runs/{run_id}/approve", summary="Approve a run held at its lane's approval gate")
async def approve(
    run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep, body: DecisionIn | None = None
) -> service.Decision:
    access = await authorize_resource(session, principal, "run", run_id, "write")
    return await service.decide(session, access, outbox, run_id, True, (body or DecisionIn()).comment)


@router.post("/runs/{run_id}/reject", summary="Reject a gated run; the same agent redoes it with the comment")
async def reject(
    run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, outbox: OutboxDep, body: DecisionIn | None = None
) -> service.Decision:
    access = await authorize_resource(session, principal, "run", run_id, "agent_run")
    return await service.decide(session, access, outbox, run_id, False, (body or DecisionIn()).comment)


async def _lane_of(session: AsyncSession, card: Card, lane_number: int | None) -> Lane | None:
    """The lane numbered ``lane_number`` on the card's board; usually the card's own (no second query)."""
    current = await session.get(Lane, card.lane_id)
    if lane_number is None or current is None or current.number == lane_number:
        return current
    query = select(Lane).where(Lane.board_id == card.board_id, Lane.number == lane_number)
    return await session.scalar(query) or current


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
) -> dict[str, Any]:
    """``lane_number``: the lane the run was triggered in (its approval gate applies), else the card's lane."""
    workspace_id = await workspace_of(session, "project", project_id)
    await set_tenant(session, workspace_id=workspace_id)
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    card, lane = None, None
    if card_id is not None:
        card = await session.get(Card, card_id)
        if card is None or card.project_id != project_id:
            raise NotFound(f"No card with id {card_id} in that project.")
        lane = await _lane_of(session, card, lane_number)
    documents = await session.execute(
        select(Document.kind, Document.title, DocumentVersion.version, DocumentVersion.content)
        .join(
            DocumentVersion,
            (DocumentVersion.document_id == Document.id) & (DocumentVersion.version == Document.latest_version),
        )
        .where(Document.project_id == project_id)
        .order_by(Document.kind)
    )
    return {
        "project": {
            "id": str(project.id),
            "workspace_id": str(project.workspace_id),
            "name": project.name,
            "description": project.description,
        },
        "card": None
        if card is None
        else {"id": str(card.id), "title": card.title, "description": card.description, "card_type": card.card_type},
        "lane_name": lane.name if lane else "",
        "lane_number": lane.number if lane else None,
        "requires_approval": bool(lane and lane.requires_approval),
        "documents": [{"kind": k, "title": t, "version": v, "content": c} for k, t, v, c in documents],
        "agents": [c.model_dump() for c in await agents.configs(session, project_id)],
    }
