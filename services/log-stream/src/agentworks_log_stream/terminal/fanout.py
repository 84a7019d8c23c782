"""Fan-out across log-stream instances: PostgreSQL LISTEN/NOTIFY when shared, in-process on SQLite.

A notification is sent inside the storing transaction, so PostgreSQL delivers it only if that commits, and
to every instance (the sender included). It carries references, not text: listeners read the lines back.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any

import psycopg
from agentworks_events import utc_text
from agentworks_platform.db import Database, after_commit
from agentworks_platform.logging import get_logger
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_log_stream.terminal import store
from agentworks_log_stream.terminal.hub import Hub

CHANNEL = "aw_terminal"
log = get_logger(__name__)


def line_message(run_id: Any, seq: int, at: datetime, stream: str, text_: str) -> dict[str, Any]:
    return {"type": "line", "run_id": str(run_id), "seq": seq, "at": utc_text(at), "stream": stream, "text": text_}


def batch_message(run_id: Any, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Consecutive lines of one run in one frame: ``{"type": "lines", "run_id", "lines": [{seq, at, stream, text}]}``.

    Live output travels in these (one frame per batch the orchestrator published, not one per line)."""
    return {
        "type": "lines",
        "run_id": str(run_id),
        "lines": [{k: line[k] for k in ("seq", "at", "stream", "text")} for line in lines],
    }


class Fanout:
    def __init__(self, db: Database, hub: Hub) -> None:
        self.db = db
        self.hub = hub
        self.shared = db.is_postgres

    async def lines(
        self, session: AsyncSession, topic: uuid.UUID, run_id: uuid.UUID, messages: list[dict[str, Any]]
    ) -> None:
        if self.shared:
            await self._notify(
                session, {"topic": str(topic), "run_id": str(run_id), "seqs": [m["seq"] for m in messages]}
            )
        else:
            self._after_commit(session, topic, [batch_message(run_id, messages)])

    async def message(self, session: AsyncSession, topic: uuid.UUID, message: dict[str, Any]) -> None:
        if self.shared:
            await self._notify(session, {"topic": str(topic), "message": message})
        else:
            self._after_commit(session, topic, [message])

    def _after_commit(self, session: AsyncSession, topic: uuid.UUID, messages: list[dict[str, Any]]) -> None:
        async def publish() -> None:
            for message in messages:
                self.hub.publish(topic, message)

        after_commit(session, publish)

    @staticmethod
    async def _notify(session: AsyncSession, payload: dict[str, Any]) -> None:
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": json.dumps(payload)}
        )

    async def listen(self) -> None:
        """Deliver notifications to this instance's hub until cancelled, reconnecting after failures."""
        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    async for notice in connection.notifies():
                        await self._deliver(json.loads(notice.payload))
            except (psycopg.Error, OSError) as exc:
                log.warning("fanout.listener_reconnecting", error=type(exc).__name__)
                await asyncio.sleep(1)

    async def _deliver(self, payload: dict[str, Any]) -> None:
        topic = uuid.UUID(payload["topic"])
        if "message" in payload:
            self.hub.publish(topic, payload["message"])
            return
        if not self.hub.count(topic):
            return
        run_id = uuid.UUID(payload["run_id"])
        async with self.db.transaction() as session:
            rows = await store.lines_in(session, [(run_id, seq) for seq in payload["seqs"]])
        lines = [line_message(r.run_id, r.seq, r.at, r.stream, r.text) for r in sorted(rows, key=lambda r: r.seq)]
        if lines:
            self.hub.publish(topic, batch_message(run_id, lines))

    async def start(self) -> asyncio.Task[None] | None:
        if not self.shared:
            return None
        task = asyncio.create_task(self.listen(), name="log-stream-fanout")
        await asyncio.sleep(0)
        return task
