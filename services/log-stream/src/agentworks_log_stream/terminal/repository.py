"""Log lines, transcript steps, runs and board messages: lines and steps are stored once whatever the delivery
order or duplication."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agentworks_events import AgentRunStep, LogLine
from agentworks_platform.clock import utc_now
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_log_stream.models import CardBoard, FanoutMessage, LogLineRow, RunLog, RunStepRow

MAX_TEXT = 1_000_000  # characters of one line; the rest is cut with a marker


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def store_lines(
    session: AsyncSession, run_id: uuid.UUID, card_id: uuid.UUID | None, lines: Sequence[LogLine]
) -> list[LogLine]:
    """Insert the lines not seen before; returns exactly those (a duplicate batch returns none)."""
    insert = _insert(session)
    rows = [
        {
            "run_id": run_id,
            "seq": line.seq,
            "card_id": card_id,
            "at": line.at,
            "stream": line.stream,
            "text": _bounded(line.text),
        }
        for line in lines
    ]
    statement = insert(LogLineRow).values(rows).on_conflict_do_nothing().returning(LogLineRow.seq)
    inserted = set((await session.scalars(statement)).all())
    return [line for line in lines if line.seq in inserted]


async def store_step(session: AsyncSession, event: AgentRunStep) -> RunStepRow | None:
    """Insert the step unless it is stored already; returns the new row, or None for a duplicate."""
    row = {
        "run_id": event.run_id,
        "step": event.step,
        "card_id": event.card_id,
        "agent": event.agent,
        "at": event.occurred_at,
        "text": _bounded(event.text),
        "tool_calls": [call.model_dump(mode="json") for call in event.tool_calls],
        "duration_ms": event.duration_ms,
    }
    statement = _insert(session)(RunStepRow).values(row).on_conflict_do_nothing().returning(RunStepRow.step)
    if (await session.scalar(statement)) is None:
        return None
    return RunStepRow(**row)


async def steps_between(
    session: AsyncSession, run_id: uuid.UUID, first: int, last: int | None, limit: int
) -> list[RunStepRow]:
    """Stored steps of a run with ``first <= step`` (and ``<= last`` when given), in order, at most ``limit``."""
    query = select(RunStepRow).where(RunStepRow.run_id == run_id, RunStepRow.step >= first)
    if last is not None:
        query = query.where(RunStepRow.step <= last)
    return list((await session.scalars(query.order_by(RunStepRow.step).limit(limit))).all())


def _bounded(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f" … [line cut at {MAX_TEXT:,} of {len(text):,} characters]"


async def runs_of_card(session: AsyncSession, card_id: uuid.UUID, run_id: uuid.UUID | None) -> list[RunLog]:
    query = select(RunLog).where(RunLog.card_id == card_id)
    if run_id is not None:
        query = query.where(RunLog.run_id == run_id)
    return list((await session.scalars(query.order_by(RunLog.created_at, RunLog.run_id))).all())


async def lines_after(session: AsyncSession, run_id: uuid.UUID, after_seq: int, limit: int) -> list[LogLineRow]:
    query = (
        select(LogLineRow)
        .where(LogLineRow.run_id == run_id, LogLineRow.seq > after_seq)
        .order_by(LogLineRow.seq)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def lines_between(
    session: AsyncSession, run_id: uuid.UUID, first: int, last: int, limit: int
) -> list[LogLineRow]:
    """Stored lines of a run with ``first <= seq <= last``, in seq order, at most ``limit`` of them."""
    query = (
        select(LogLineRow)
        .where(LogLineRow.run_id == run_id, LogLineRow.seq >= first, LogLineRow.seq <= last)
        .order_by(LogLineRow.seq)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def save_message(session: AsyncSession, topic: uuid.UUID, body: str) -> uuid.UUID:
    message_id = uuid.uuid4()
    session.add(FanoutMessage(id=message_id, topic=topic, body=body, created_at=utc_now()))
    await session.flush()
    return message_id


async def message_body(session: AsyncSession, message_id: uuid.UUID) -> str | None:
    row = await session.get(FanoutMessage, message_id)
    return row.body if row else None


async def prune_messages(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(FanoutMessage).where(FanoutMessage.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def board_of(session: AsyncSession, card_id: uuid.UUID | None) -> uuid.UUID | None:
    if card_id is None:
        return None
    row = await session.get(CardBoard, card_id)
    return row.board_id if row else None


async def count_lines(session: AsyncSession, run_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(LogLineRow).where(LogLineRow.run_id == run_id)
    return int(await session.scalar(query) or 0)


async def delete_lines_archived_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete the stored lines of runs archived at or before ``cutoff``; returns how many."""
    archived = select(RunLog.run_id).where(RunLog.archived_at.is_not(None), RunLog.archived_at <= cutoff)
    result = await session.execute(delete(LogLineRow).where(LogLineRow.run_id.in_(archived)))
    return int(getattr(result, "rowcount", 0) or 0)


async def notify(session: AsyncSession, channel: str, payload: str) -> None:
    """NOTIFY the channel inside a savepoint, so a failed notification rolls back nothing else of the transaction."""
    async with session.begin_nested():
        await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})
