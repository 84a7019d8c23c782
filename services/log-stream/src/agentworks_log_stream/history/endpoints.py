"""``GET /api/cards/:id/runs/:run_id/logs``: a run's stored lines with cursor pagination, or all as NDJSON;
``GET /api/cards/:id/runs/:run_id/transcript``: a tool-using run's steps (prose and tool calls, whole);
``POST /internal/retention/prune``: the scheduler's retention sweep."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import allow_callers, context_of
from agentworks_platform.errors import error_responses
from agentworks_platform.pagination import Page
from agentworks_platform.principal import Principal, current_principal
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from agentworks_log_stream.history import service
from agentworks_log_stream.history.schemas import Line, PruneOut, TranscriptStep
from agentworks_log_stream.state import log_stream_state

router = APIRouter(prefix="/api/cards/{card_id}/runs/{run_id}/logs", tags=["logs"], responses=error_responses(404))
transcript = APIRouter(
    prefix="/api/cards/{card_id}/runs/{run_id}/transcript", tags=["logs"], responses=error_responses(404)
)
internal = APIRouter(prefix="/internal", tags=["internal"])
PrincipalDep = Annotated[Principal, Depends(current_principal)]


@router.get("", summary="A run's log lines, oldest first, with cursor pagination")
async def run_logs(
    card_id: uuid.UUID,
    run_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Page[Line]:
    ctx = context_of(request)
    run = await service.readable_run(ctx.db, log_stream_state(ctx).core, principal, card_id, run_id)
    return await service.lines_page(log_stream_state(ctx).archiver, run, cursor, limit)


@router.get("/download", summary="The whole log as NDJSON (one JSON line per log line)")
async def download(
    card_id: uuid.UUID, run_id: uuid.UUID, request: Request, principal: PrincipalDep
) -> StreamingResponse:
    ctx = context_of(request)
    await service.readable_run(ctx.db, log_stream_state(ctx).core, principal, card_id, run_id)
    return StreamingResponse(
        service.ndjson_lines(ctx.db, run_id),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}.ndjson"'},
    )


@transcript.get("", summary="A tool-using run's steps, oldest first, with cursor pagination")
async def run_transcript(
    card_id: uuid.UUID,
    run_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TranscriptStep]:
    ctx = context_of(request)
    await service.readable_run(ctx.db, log_stream_state(ctx).core, principal, card_id, run_id)
    async with ctx.db.transaction() as session:
        return await service.transcript_page(session, run_id, cursor, limit)


@internal.post(
    "/retention/prune",
    dependencies=[Depends(allow_callers("scheduler"))],
    summary="Delete database lines of runs archived past the retention period",
)
async def prune(request: Request) -> PruneOut:
    return PruneOut(deleted_lines=await log_stream_state(context_of(request)).archiver.prune())
