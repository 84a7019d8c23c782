"""Run control (cancel) and the CoPilot console, for people (through the gateway)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from agentworks_internal_api.core import MemberLookupError, member_role
from agentworks_platform.errors import AppError, Forbidden, NotFound, Unavailable, error_responses
from agentworks_platform.principal import Principal, current_principal
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from agentworks_orchestrator.runs.billing_client import BillingUnavailableError, pricing_plan
from agentworks_orchestrator.runs.core_client import CoreUnavailableError, run_context
from agentworks_orchestrator.runs.executor import RunPlan
from agentworks_orchestrator.runs.prompts import console_prompt
from agentworks_orchestrator.runs.schemas import CancelOut, Question
from agentworks_orchestrator.runs.service import RunService
from agentworks_orchestrator.state import RunServiceDep

router = APIRouter(prefix="/api", tags=["runs"], responses=error_responses(402, 404, 429, 503))
PrincipalDep = Annotated[Principal, Depends(current_principal)]
RUNNERS = frozenset({"owner", "member"})


async def _require_runner(service: RunService, principal: Principal, workspace_id: uuid.UUID, what: str) -> None:
    if principal.key_workspace_id not in (None, workspace_id):
        raise NotFound(f"No {what}.")
    try:
        role = await member_role(service.core, workspace_id, principal.user_id)
    except MemberLookupError:
        raise Unavailable("Workspaces are unavailable right now; try again shortly.") from None
    if role is None:
        raise NotFound(f"No {what}.")
    if role not in RUNNERS:
        raise Forbidden("Your role does not allow running or stopping agents.")


@router.post("/runs/{run_id}/cancel", summary="Cancel a run; a running one stops at its next log batch")
async def cancel_run(run_id: uuid.UUID, principal: PrincipalDep, service: RunServiceDep) -> CancelOut:
    run = await service.run(run_id)
    if run is None:
        raise NotFound(f"No run with id {run_id}.")
    await _require_runner(service, principal, run.workspace_id, f"run with id {run_id}")
    return CancelOut(run_id=run_id, status=await service.cancel(run_id, principal.user_id))


@router.post("/projects/{project_id}/copilot", summary="Ask the CEO CoPilot; the answer streams as SSE")
async def ask_copilot(
    project_id: uuid.UUID, body: Question, principal: PrincipalDep, service: RunServiceDep
) -> StreamingResponse:
    try:
        context = await run_context(service.core, project_id, None)
    except CoreUnavailableError:
        raise AppError(
            "Projects are unavailable right now; try again shortly.", code="unavailable", status_code=503
        ) from None
    except Exception:
        raise NotFound(f"No project with id {project_id}.") from None
    workspace_id = context.project.workspace_id
    await _require_runner(service, principal, workspace_id, f"project with id {project_id}")
    copilot = next(a for a in context.agents if a.agent == "ceo_copilot")
    try:
        pricing = await pricing_plan(service.billing, workspace_id)
    except BillingUnavailableError:
        raise AppError(
            "Billing is unavailable right now; try again shortly.", code="unavailable", status_code=503
        ) from None
    run_id = uuid.uuid4()
    plan = RunPlan(
        run_id=run_id,
        workspace_id=workspace_id,
        project_id=project_id,
        card_id=None,
        agent="ceo_copilot",
        kind="console",
        lane_number=None,
        provider=copilot.provider,
        model=copilot.model,
        attempt=1,
        trigger_event_id=run_id,
        requested_by=principal.user_id,
        messages=[{"role": "system", "content": console_prompt(context)}, {"role": "user", "content": body.question}],
        contract=None,
        markup=pricing.markup,
        increment=pricing.increment,
    )
    refusal = await service.open_console(plan)
    if refusal is not None:
        raise AppError(refusal[1], code=refusal[0], status_code=429 if refusal[0] == "quota_exceeded" else 402)
    return StreamingResponse(
        _answer(service, plan), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def _answer(service: RunService, plan: RunPlan) -> AsyncIterator[str]:
    pieces: asyncio.Queue[str | None] = asyncio.Queue()

    async def on_text(piece: str) -> None:
        await pieces.put(piece)

    async def execute() -> str:
        try:
            return await service.executor.execute(plan, on_text)
        finally:
            await pieces.put(None)

    execution = asyncio.ensure_future(execute())
    yield f"data: {json.dumps({'run_id': str(plan.run_id)})}\n\n"
    while (piece := await pieces.get()) is not None:
        yield f"data: {json.dumps({'delta': piece})}\n\n"
    status = await execution
    run = await service.run(plan.run_id)
    assert run is not None
    yield f"data: {json.dumps({'status': status, 'cost': format(run.cost, 'f'), 'price': format(run.price, 'f')})}\n\n"
    yield "data: [DONE]\n\n"
