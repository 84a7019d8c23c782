"""Budgets (owners set them; every member sees them) and the internal plan API the orchestrator prices runs with."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from agentworks_platform.app import context_of, service_caller
from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from agentworks_billing.access import PrincipalDep, SessionDep, authorize, check_project
from agentworks_billing.accounts.service import Accounts, BudgetStatus, Plan
from agentworks_billing.schemas import Cents, MoneyOut, Schema

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["budgets"])
internal = APIRouter(prefix="/internal", tags=["internal"], dependencies=[Depends(service_caller)])


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = context_of(request).extras["accounts"]
    return accounts


class BudgetIn(Schema):
    monthly_cap: Annotated[Cents, Field(gt=0)]


class BudgetOut(Schema):
    scope: Literal["workspace", "project"]
    project_id: uuid.UUID | None
    monthly_cap: MoneyOut
    period: str
    spent: MoneyOut
    percent: MoneyOut = Field(description="Spent as a percentage of the cap, two decimals.")
    state: Literal["ok", "warning", "exceeded"]
    updated_at: datetime

    @classmethod
    def of(cls, status: BudgetStatus) -> BudgetOut:
        budget = status.budget
        return cls(
            scope="project" if budget.project_id else "workspace",
            project_id=budget.project_id,
            monthly_cap=budget.monthly_cap,
            period=status.period,
            spent=status.spent,
            percent=(status.spent * 100 / budget.monthly_cap).quantize(Decimal("0.01")),
            state=status.state,
            updated_at=budget.updated_at,
        )


class PlanIn(Schema):
    markup: Annotated[Decimal, Field(ge=5, le=1000, description="Multiplier on provider cost; never below 5.")]
    increment: Annotated[Decimal, Field(ge=Decimal("0.01"), le=100, decimal_places=2)] = Decimal("0.25")


class PlanOut(Schema):
    workspace_id: uuid.UUID
    markup: MoneyOut
    increment: MoneyOut
    custom: bool = Field(description="False when the workspace is on the default plan.")

    @classmethod
    def of(cls, workspace_id: uuid.UUID, plan: Plan) -> PlanOut:
        return cls(workspace_id=workspace_id, markup=plan.markup, increment=plan.increment, custom=plan.custom)


@router.get("/budgets", summary="Budgets and their spend this month")
async def list_budgets(
    workspace_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> list[BudgetOut]:
    await authorize(request, principal, workspace_id, "charges")
    return [BudgetOut.of(status) for status in await accounts_of(request).budgets(session, workspace_id)]


@router.put("/budgets/workspace", summary="Set the workspace's monthly cap (owners)")
async def set_workspace_budget(
    workspace_id: uuid.UUID, body: BudgetIn, request: Request, session: SessionDep, principal: PrincipalDep
) -> BudgetOut:
    await authorize(request, principal, workspace_id, "manage")
    status = await accounts_of(request).set_budget(session, workspace_id, None, body.monthly_cap, principal.user_id)
    return BudgetOut.of(status)


@router.delete("/budgets/workspace", status_code=204, summary="Remove the workspace's monthly cap (owners)")
async def remove_workspace_budget(
    workspace_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    await authorize(request, principal, workspace_id, "manage")
    await accounts_of(request).remove_budget(session, workspace_id, None)
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
    accounts = accounts_of(request)
    status = await accounts.set_budget(session, workspace_id, project_id, body.monthly_cap, principal.user_id)
    return BudgetOut.of(status)


@router.delete("/budgets/projects/{project_id}", status_code=204, summary="Remove a project's monthly cap (owners)")
async def remove_project_budget(
    workspace_id: uuid.UUID, project_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    await authorize(request, principal, workspace_id, "manage")
    await accounts_of(request).remove_budget(session, workspace_id, project_id)
    return Response(status_code=204)


@internal.get("/workspaces/{workspace_id}/plan", summary="The plan new runs of a workspace are priced with")
async def get_plan(workspace_id: uuid.UUID, request: Request, session: SessionDep) -> PlanOut:
    return PlanOut.of(workspace_id, await accounts_of(request).plan(session, workspace_id))


@internal.put("/workspaces/{workspace_id}/plan", summary="Change a workspace's plan (operators; future runs only)")
async def put_plan(workspace_id: uuid.UUID, body: PlanIn, request: Request, session: SessionDep) -> PlanOut:
    plan = await accounts_of(request).set_plan(session, workspace_id, body.markup, body.increment)
    return PlanOut.of(workspace_id, plan)
