"""``GET /api/cards/:id/runs/:run_id/logs``: a run's stored lines with cursor pagination, or all as NDJSON;
``GET /api/cards/:id/runs/:run_id/transcript``: a tool-using run's steps (prose and tool calls, whole)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from agentworks_events import ToolCallRecord, UtcDateTime, utc_text
from agentworks_internal_api.core import MemberLookupError, member_role
from agentworks_platform.app import ServiceContext, allow_callers, context_of
from agentworks_platform.errors import NotFound, Unavailable, error_responses
from agentworks_platform.pagination import Page, decode_cursor, encode_cursor
from agentworks_platform.principal import Principal, current_principal
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from agentworks_log_stream.models import RunLog
from agentworks_log_stream.state import log_stream_state
from agentworks_log_stream.terminal import repository

router = APIRouter(prefix="/api/cards/{card_id}/runs/{run_id}/logs", tags=["logs"], responses=error_responses(404))
transcript = APIRouter(
    prefix="/api/cards/{card_id}/runs/{run_id}/transcript", tags=["logs"], responses=error_responses(404)
)
PrincipalDep = Annotated[Principal, Depends(current_principal)]


class Line(BaseModel):
    seq: int
    at: UtcDateTime
    stream: str
    text: str


class TranscriptStep(BaseModel):
    """One step of a tool-using run: the model's prose (Markdown) and every tool call it made, with its result."""

    step: int
    at: UtcDateTime
    agent: str
    text: str
    tool_calls: list[ToolCallRecord]
    duration_ms: int


async def _run(ctx: ServiceContext, principal: Principal, card_id: uuid.UUID, run_id: uuid.UUID) -> RunLog:
    """The run, if it belongs to the card and the card to one of the principal's workspaces."""
    async with ctx.db.transaction() as session:
        run = await session.get(RunLog, run_id)
    missing = NotFound(f"No run {run_id} on card {card_id}.")
    if run is None or run.card_id != card_id or principal.key_workspace_id not in (None, run.workspace_id):
        raise missing
    try:
        role = await member_role(log_stream_state(ctx).core, run.workspace_id, principal.user_id)
    except MemberLookupError:
        raise Unavailable("Workspaces are unavailable right now; try again shortly.", retry_after=None) from None
    if role is None:
        raise missing
    return run


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
    run = await _run(ctx, principal, card_id, run_id)
    after = decode_cursor(cursor, (int,))
    records = await log_stream_state(ctx).archiver.lines(run, after[0] if after else 0, limit + 1)
    more, records = len(records) > limit, records[:limit]
    return Page(
        items=[Line(**r) for r in records], next_cursor=encode_cursor(records[-1]["seq"]) if more and records else None
    )


@router.get("/download", summary="The whole log as NDJSON (one JSON line per log line)")
async def download(
    card_id: uuid.UUID, run_id: uuid.UUID, request: Request, principal: PrincipalDep
) -> StreamingResponse:
    ctx = context_of(request)
    await _run(ctx, principal, card_id, run_id)

    async def lines() -> AsyncIterator[str]:
        after = 0
        while True:
            async with ctx.db.transaction() as session:
                rows = await repository.lines_after(session, run_id, after, 1000)
            for row in rows:
                record: dict[str, Any] = {
                    "seq": row.seq,
                    "at": utc_text(row.at),
                    "stream": row.stream,
                    "text": row.text,
                }
                yield json.dumps(record) + "\n"
            if len(rows) < 1000:
                return
            after = rows[-1].seq

    return StreamingResponse(
        lines(),
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
    await _run(ctx, principal, card_id, run_id)
    after = decode_cursor(cursor, (int,))
    async with ctx.db.transaction() as session:
        rows = await repository.steps_between(session, run_id, (after[0] if after else 0) + 1, None, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    items = [
        TranscriptStep(
            step=row.step,
            at=row.at,
            agent=row.agent,
            text=row.text,
            tool_calls=[ToolCallRecord.model_validate(call) for call in row.tool_calls],
            duration_ms=row.duration_ms,
        )
        for row in rows
    ]
    return Page(items=items, next_cursor=encode_cursor(rows[-1].step) if more and rows else None)


internal = APIRouter(prefix="/internal", tags=["internal"])


class PruneOut(BaseModel):
    """What a retention sweep deleted."""

    deleted_lines: int


@internal.post(
    "/retention/prune",
    dependencies=[Depends(allow_callers("scheduler"))],
    summary="Delete database lines of runs archived past the retention period",
)
async def prune(request: Request) -> PruneOut:
    return PruneOut(deleted_lines=await log_stream_state(context_of(request)).archiver.prune())
