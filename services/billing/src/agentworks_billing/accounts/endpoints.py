"""Budgets (owners set them; every member sees them) and the internal plan API the orchestrator prices runs with."""

from __future__ import annotations

import uuid

from agentworks_internal_api.billing import ApiAllowanceOut, PlanOut
from agentworks_platform.app import SessionDep, allow_callers
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Depends, Request, Response

from agentworks_billing.access import PrincipalDep, authorize, check_project
from agentworks_billing.accounts import service
from agentworks_billing.accounts.schemas import BudgetIn, BudgetOut, PlanIn, api_allowance_out, plan_out
from agentworks_billing.accounts.service import current_period
from agentworks_billing.state import jobs_of

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["budgets"], responses=error_responses(404))
internal = APIRouter(prefix="/internal", tags=["internal"])


@router.get("/budgets", summary="Budgets and their spend this month")
async def list_budgets(
    workspace_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> list[BudgetOut]:
    await authorize(request, principal, workspace_id, "charges")
    return [BudgetOut.of(status) for status in await service.budgets(session, jobs_of(request).watch, workspace_id)]


@router.put("/budgets/workspace", summary="Set the workspace's monthly cap (owners)")
async def set_workspace_budget(
    workspace_id: uuid.UUID,
    body: BudgetIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> BudgetOut:
    await authorize(request, principal, workspace_id, "manage")
    status = await service.set_budget(
        session, jobs_of(request).watch, workspace_id, None, body.monthly_cap, principal.user_id
    )
    return BudgetOut.of(status)


@router.delete("/budgets/workspace", status_code=204, summary="Remove the workspace's monthly cap (owners)")
async def remove_workspace_budget(
    workspace_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    await authorize(request, principal, workspace_id, "manage")
    await service.remove_budget(session, jobs_of(request).watch, workspace_id, None)
    return Response(status_code=204)


@router.put("/budgets/projects/{project_id}", summary="Set a project's monthly cap (owners)")
async def set_project_budget(
    workspace_id: uuid.UUID,
    project_id: uuid.UUID,
    body: BudgetIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> BudgetOut:
    await authorize(request, principal, workspace_id, "manage")
    await check_project(request, workspace_id, project_id)
    status = await service.set_budget(
        session, jobs_of(request).watch, workspace_id, project_id, body.monthly_cap, principal.user_id
    )
    return BudgetOut.of(status)


@router.delete("/budgets/projects/{project_id}", status_code=204, summary="Remove a project's monthly cap (owners)")
async def remove_project_budget(
    workspace_id: uuid.UUID,
    project_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    await authorize(request, principal, workspace_id, "manage")
    await service.remove_budget(session, jobs_of(request).watch, workspace_id, project_id)
    return Response(status_code=204)


@internal.get(
    "/workspaces/{workspace_id}/plan",
    dependencies=[Depends(allow_callers("orchestrator"))],
    summary="The plan new runs of a workspace are priced with",
)
async def get_plan(workspace_id: uuid.UUID, request: Request, session: SessionDep) -> PlanOut:
    return plan_out(workspace_id, await service.plan(session, jobs_of(request).settings, workspace_id))


@internal.put(
    "/workspaces/{workspace_id}/plan",
    dependencies=[Depends(allow_callers("operator"))],
    summary="Change a workspace's plan (operators; future runs only)",
)
async def put_plan(workspace_id: uuid.UUID, body: PlanIn, session: SessionDep) -> PlanOut:
    plan = await service.set_plan(session, workspace_id, body.markup, body.increment)
    return plan_out(workspace_id, plan)


@internal.get(
    "/workspaces/{workspace_id}/api-allowance",
    dependencies=[Depends(allow_callers("gateway"))],
    summary="Whether the workspace's API keys may call a provider now (its budget not spent)",
)
async def get_api_allowance(workspace_id: uuid.UUID, request: Request, session: SessionDep) -> ApiAllowanceOut:
    status = await service.workspace_budget(session, jobs_of(request).watch, workspace_id)
    return api_allowance_out(workspace_id, status.period if status else current_period(), status)
