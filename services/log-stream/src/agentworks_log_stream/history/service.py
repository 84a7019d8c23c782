"""Reading a run's history: who may, its lines a page at a time or whole, and its transcript."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

from agentworks_events import ToolCallRecord, utc_text
from agentworks_internal_api.core import MemberLookupError, member_role
from agentworks_platform.db import Database
from agentworks_platform.errors import NotFound, Unavailable
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.pagination import Page, decode_cursor, encode_cursor
from agentworks_platform.principal import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_log_stream.history.schemas import Line, TranscriptStep
from agentworks_log_stream.models import RunLog
from agentworks_log_stream.terminal import repository
from agentworks_log_stream.terminal.archive import Archiver

DOWNLOAD_PAGE = 1000


async def readable_run(
    db: Database, core: InternalClient, principal: Principal, card_id: uuid.UUID, run_id: uuid.UUID
) -> RunLog:
    """The run, when it is one of the card's and the card is in one of the principal's workspaces (and its
    key's, for an API key); otherwise not found. Core is asked after the read's transaction has ended."""
    async with db.transaction() as session:
        run = await session.get(RunLog, run_id)
    missing = NotFound(f"No run {run_id} on card {card_id}.")
    if run is None or run.card_id != card_id or principal.key_workspace_id not in (None, run.workspace_id):
        raise missing
    try:
        role = await member_role(core, run.workspace_id, principal.user_id)
    except MemberLookupError:
        raise Unavailable("Workspaces are unavailable right now; try again shortly.", retry_after=None) from None
    if role is None:
        raise missing
    return run


async def lines_page(archiver: Archiver, run: RunLog, cursor: str | None, limit: int) -> Page[Line]:
    """Up to ``limit`` lines after the cursor, from the database or the archive, and the next cursor."""
    after = decode_cursor(cursor, (int,))
    records = await archiver.lines(run, after[0] if after else 0, limit + 1)
    more, records = len(records) > limit, records[:limit]
    next_cursor = encode_cursor(records[-1]["seq"]) if more and records else None
    return Page(items=[Line(**record) for record in records], next_cursor=next_cursor)


async def ndjson_lines(db: Database, run_id: uuid.UUID) -> AsyncIterator[str]:
    """Every stored line of the run as one JSON line each, read a page per transaction."""
    after = 0
    while True:
        async with db.transaction() as session:
            rows = await repository.lines_after(session, run_id, after, DOWNLOAD_PAGE)
        for row in rows:
            yield json.dumps({"seq": row.seq, "at": utc_text(row.at), "stream": row.stream, "text": row.text}) + "\n"
        if len(rows) < DOWNLOAD_PAGE:
            return
        after = rows[-1].seq


async def transcript_page(
    session: AsyncSession, run_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[TranscriptStep]:
    """Up to ``limit`` of the run's steps after the cursor, whole, and the next cursor."""
    after = decode_cursor(cursor, (int,))
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
