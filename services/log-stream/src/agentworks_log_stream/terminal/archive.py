"""When a run has ended and every line up to its last seq is stored, its log is archived as gzipped NDJSON
through the blobs port (``workspaces/{w}/projects/{p}/runs/{run}.ndjson.gz``). History reads come from the
database while lines are retained there, and from the archive after that."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import timedelta
from typing import Any

from agentworks_blobs import BlobStore
from agentworks_events import utc_text
from agentworks_platform.clock import utc_now
from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_log_stream.models import LogLineRow, RunLog
from agentworks_log_stream.terminal import repository

ENDED = frozenset({"completed", "failed", "cancelled", "skipped", "refused"})
KEEP_FANOUT_MESSAGES = timedelta(hours=1)  # every instance reads a board message back within moments
log = get_logger(__name__)


def archive_path(run: RunLog) -> str:
    return f"workspaces/{run.workspace_id}/projects/{run.project_id}/runs/{run.run_id}.ndjson.gz"


def _record(row: LogLineRow) -> dict[str, Any]:
    return {"seq": row.seq, "at": utc_text(row.at), "stream": row.stream, "text": row.text}


class Archiver:
    def __init__(self, db: Database, blobs: BlobStore, retain_hours: float) -> None:
        self.db = db
        self.blobs = blobs
        self.retain = timedelta(hours=retain_hours)

    async def archive_if_complete(self, session: AsyncSession, run: RunLog) -> bool:
        """Archive once the run has ended and no line is missing; idempotent, retried on every later event."""
        if run.archived_at is not None or run.status not in ENDED or run.last_seq is None:
            return False
        if await repository.count_lines(session, run.run_id) < run.last_seq:
            return False
        rows = await repository.lines_after(session, run.run_id, 0, run.last_seq)
        body = "".join(json.dumps(_record(row)) + "\n" for row in rows).encode()
        run.archive_uri = await self.blobs.put(archive_path(run), gzip.compress(body), "application/gzip")
        run.archived_at = utc_now()
        return True

    async def read(self, run: RunLog, after: int, limit: int) -> list[dict[str, Any]]:
        data = await self.blobs.get(archive_path(run))
        if data is None:
            return []
        records = [json.loads(line) for line in gzip.decompress(data).decode().splitlines() if line]
        return [r for r in records if r["seq"] > after][:limit]

    async def prune(self) -> int:
        """Delete database lines of runs archived longer ago than the retention period (and old board messages)."""
        cutoff = utc_now() - self.retain
        async with self.db.transaction() as session:
            await repository.prune_messages(session, utc_now() - KEEP_FANOUT_MESSAGES)
            return await repository.delete_lines_archived_before(session, cutoff)

    async def prune_periodically(self, every_seconds: float = 3600.0) -> None:
        """The retention sweep for the service's lifetime (also callable on demand at /internal/retention/prune)."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                deleted = await self.prune()
            except Exception as exc:
                log.warning("retention.prune_failed", error=type(exc).__name__)
                continue
            if deleted:
                log.info("retention.pruned", lines=deleted)

    async def lines(self, run: RunLog, after: int, limit: int) -> list[dict[str, Any]]:
        """A page of lines from the database, or from the archive once they have been pruned."""
        async with self.db.transaction() as session:
            rows = await repository.lines_after(session, run.run_id, after, limit)
        if rows or run.archived_at is None:
            return [_record(row) for row in rows]
        return await self.read(run, after, limit)
