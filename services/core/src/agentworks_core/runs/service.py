"""Runs from the card's point of view: request one (or a re-run), decide at an approval gate, list a card's runs."""

from __future__ import annotations

import uuid
from decimal import Decimal

from agentworks_events import CardApproved, CardRejected, CardRunRequested, run_id_for, utc_now
from agentworks_internal_api.core import (
    CardGateOut,
    ContextCardOut,
    ContextDocumentOut,
    ContextProjectOut,
    RunContextOut,
)
from agentworks_platform.db import set_tenant
from agentworks_platform.errors import AppError, NotFound
from agentworks_pubsub import Outbox
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access, workspace_of
from agentworks_core.agents import service as agents
from agentworks_core.agents.registry import BY_KEY
from agentworks_core.audit import service as audit
from agentworks_core.models import AgentRun, Card, Lane, Project
from agentworks_core.runs import effects, repository
from agentworks_core.runs.schemas import CardRuns, Decision, RunOut, RunRequested


async def request_run(
    session: AsyncSession,
    access: Access,
    outbox: Outbox,
    card_id: uuid.UUID,
    agent: str,
    instructions: str = "",
    rerun_of: uuid.UUID | None = None,
) -> RunRequested:
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    if agent not in BY_KEY:
        raise NotFound(f"No agent named {agent!r}.", details={"agents": list(BY_KEY)})
    if not await agents.is_enabled(session, card.project_id, agent):
        name = BY_KEY[agent].display_name
        raise AppError(
            f"The {name} agent is turned off for this project; turn it on in the project's agents to run it.",
            code="agent_disabled",
            status_code=409,
        )
    lane = await session.get(Lane, card.lane_id)
    assert lane is not None
    event = CardRunRequested(
        workspace_id=access.workspace_id,
        project_id=card.project_id,
        card_id=card.id,
        actor_id=access.principal.user_id,
        agent=agent,
        lane_number=lane.number,
        rerun_of=rerun_of,
        instructions=instructions,
    )
    await outbox.add(session, event)
    audit.record(
        session,
        access,
        "run.requested",
        "card",
        card.id,
        after={"agent": agent, "rerun_of": str(rerun_of) if rerun_of else None},
    )
    return RunRequested(run_id=run_id_for(event.id, agent), event_id=event.id, agent=agent)


async def rerun(session: AsyncSession, access: Access, outbox: Outbox, run_id: uuid.UUID) -> RunRequested:
    run = await session.get(AgentRun, run_id)
    if run is None or run.card_id is None:
        raise NotFound(f"No card run with id {run_id}.")
    if run.status not in ("completed", "failed", "cancelled", "refused", "skipped"):
        raise AppError("This run has not finished; cancel it first.", code="run_in_progress", status_code=409)
    return await request_run(session, access, outbox, run.card_id, run.agent, rerun_of=run.id)


async def decide(
    session: AsyncSession, access: Access, outbox: Outbox, run_id: uuid.UUID, approve: bool, comment: str
) -> Decision:
    """Approve or reject a run held at its lane's gate; a rejection asks the same agent to redo the work."""
    run = await repository.run_for_update(session, run_id)
    if run is None or run.card_id is None:
        raise NotFound(f"No card run with id {run_id}.")
    if run.approval != "pending":
        state = run.approval or "not waiting for approval"
        raise AppError(f"This run is {state}; there is nothing to decide.", code="no_approval_pending", status_code=409)
    run.approval = "approved" if approve else "rejected"
    run.approval_comment, run.decided_by, run.decided_at = comment, access.principal.user_id, utc_now()
    kind = CardApproved if approve else CardRejected
    decision = kind(
        workspace_id=access.workspace_id,
        project_id=run.project_id,
        card_id=run.card_id,
        actor_id=access.principal.user_id,
        run_id=run.id,
        comment=comment,
    )
    await outbox.add(session, decision)
    audit.record(session, access, f"run.{run.approval}", "run", run.id, after={"comment": comment})
    await effects.carry_out_approved_moves(session, outbox, run, approve)
    rerun = None
    if not approve and await agents.is_enabled(session, run.project_id, run.agent):
        rerun = await request_run(
            session, access, outbox, run.card_id, run.agent, instructions=comment, rerun_of=run.id
        )
    return Decision(run_id=run.id, approval=run.approval, rerun=rerun)


async def card_runs(session: AsyncSession, access: Access, card_id: uuid.UUID) -> CardRuns:
    if await session.get(Card, card_id) is None:
        raise NotFound(f"No card with id {card_id}.")
    rows = await repository.runs_of_card(session, card_id)
    sees_cost = access.role != "viewer"
    runs = [RunOut.model_validate(r).model_copy(update={} if sees_cost else {"cost": None}) for r in rows]
    return CardRuns(
        runs=runs,
        total_price=sum((r.price for r in rows), Decimal(0)),
        total_cost=sum((r.cost for r in rows), Decimal(0)) if sees_cost else None,
    )


async def run_context(
    session: AsyncSession, project_id: uuid.UUID, card_id: uuid.UUID | None, lane_number: int | None
) -> RunContextOut:
    """``lane_number``: the lane the run was triggered in (its approval gate applies), else the card's lane."""
    await set_tenant(session, workspace_id=await workspace_of(session, "project", project_id))
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    card, lane = None, None
    if card_id is not None:
        card = await session.get(Card, card_id)
        if card is None or card.project_id != project_id:
            raise NotFound(f"No card with id {card_id} in that project.")
        lane = await repository.lane_of(session, card, lane_number)
    documents = await repository.latest_documents(session, project_id)
    return RunContextOut(
        project=ContextProjectOut.model_validate(project, from_attributes=True),
        card=None if card is None else ContextCardOut.model_validate(card, from_attributes=True),
        lane_name=lane.name if lane else "",
        lane_number=lane.number if lane else None,
        requires_approval=bool(lane and lane.requires_approval),
        documents=[ContextDocumentOut(kind=k, title=t, version=v, content=c) for k, t, v, c in documents],
        agents=list(await agents.configs(session, project_id)),
    )


async def card_gate(session: AsyncSession, card_id: uuid.UUID) -> CardGateOut:
    await set_tenant(session, workspace_id=await workspace_of(session, "card", card_id))
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    lane = await session.get(Lane, card.lane_id)
    assert lane is not None  # a card's lane cannot be deleted from under it (foreign key)
    return CardGateOut(
        workspace_id=card.workspace_id,
        project_id=card.project_id,
        card_id=card.id,
        human_id=card.human_id,
        title=card.title,
        lane_number=lane.number,
        lane_name=lane.name,
        requires_approval=lane.requires_approval,
        approval_pending=await repository.has_pending_approval(session, card_id),
    )
