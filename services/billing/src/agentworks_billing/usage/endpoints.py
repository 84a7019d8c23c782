"""Usage and charges of a workspace: totals and series over a date range, and a CSV of every run charge."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from agentworks_platform.app import SessionDep, context_of
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from agentworks_billing.access import PrincipalDep, authorize
from agentworks_billing.schemas import Day
from agentworks_billing.usage import service
from agentworks_billing.usage.schemas import UsageOut, UsageRowOut

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["usage"], responses=error_responses(404))
Dimension = Literal["day", "provider", "model", "agent", "project", "card"]


@router.get("/usage", summary="Usage and charges over a date range, with series by the requested dimensions")
async def usage(
    workspace_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    start: Annotated[Day | None, Query(description="First day (UTC), default the 1st of this month.")] = None,
    end: Annotated[Day | None, Query(description="Last day (UTC, inclusive), default today.")] = None,
    group_by: Annotated[list[Dimension] | None, Query(description="Repeat for several series.")] = None,
) -> UsageOut:
    access = await authorize(request, principal, workspace_id, "charges")
    first, last = service.date_range(start, end)
    report = await service.report(session, workspace_id, first, last, list(group_by or ["day"]))
    with_cost = access.can("cost")
    return UsageOut(
        workspace_id=workspace_id,
        start=report.start,
        end=report.end,
        totals=UsageRowOut.of(report.totals, with_cost),
        series={k: [UsageRowOut.of(r, with_cost) for r in rows] for k, rows in report.series.items()},
    )


@router.get(
    "/charges.csv",
    summary="Every run charge in a date range as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def charges_csv(
    workspace_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    start: Annotated[Day | None, Query()] = None,
    end: Annotated[Day | None, Query()] = None,
) -> StreamingResponse:
    access = await authorize(request, principal, workspace_id, "charges")
    first, last = service.date_range(start, end)
    rows = service.charges_csv(context_of(request).db, workspace_id, first, last, access.can("cost"))
    filename = f"agentworks-charges-{first.isoformat()}-{last.isoformat()}.csv"
    return StreamingResponse(
        rows, media_type="text/csv", headers={"content-disposition": f'attachment; filename="{filename}"'}
    )
