"""A card's activity, newest first, gathered from what the platform records anyway: the audit log (creation,
edits with what changed, moves, archiving, merges of its code), the runs' projection (each run and its outcome,
each approval or rejection) and the comments. Nothing is written for the timeline itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from agentworks_events.timestamps import as_utc
from agentworks_platform.errors import AppError
from agentworks_platform.pagination import decode_cursor, encode_cursor
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.activity import repository
from agentworks_core.activity.repository import Cursor
from agentworks_core.activity.schemas import ActivityChangeOut, ActivityItemOut, ActivityKind, ActivityPageOut
from agentworks_core.cards import service as cards
from agentworks_core.models import AgentRun, AuditEntry, CardComment

SOURCES = ("approval", "audit", "comment", "run")
KINDS: dict[str, ActivityKind] = {
    "card.created": "created",
    "card.updated": "edited",
    "card.moved": "moved",
    "card.archived": "archived",
    "card.unarchived": "unarchived",
    "code.merged": "merged",
}
UNSHOWN = frozenset({"lane_id", "position"})
"""Parts of an edit's audit summary that say where the card was, not what changed."""


def _source(value: str) -> str:
    if value not in SOURCES:
        raise ValueError(value)
    return value


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, card_id: uuid.UUID, cursor: str | None, limit: int
) -> ActivityPageOut:
    card = await cards.get(session, card_id)
    after: Cursor | None = decode_cursor(cursor, (datetime.fromisoformat, _source, uuid.UUID))
    if after is not None and after[0].tzinfo is None:
        raise AppError("The cursor is not valid; start again without one.", code="invalid_cursor")
    lanes = await repository.lane_names(session, card.board_id)
    found: list[tuple[datetime, str, uuid.UUID, ActivityItemOut]] = []
    for entry in await repository.audit_entries(session, card_id, workspace_id, after, limit + 1):
        found.append((as_utc(entry.created_at), "audit", entry.id, _audited(entry, lanes)))
    for run in await repository.runs(session, card_id, after, limit + 1):
        found.append((as_utc(run.created_at), "run", run.id, _run(run)))
    for run in await repository.decisions(session, card_id, after, limit + 1):
        assert run.decided_at is not None
        found.append((as_utc(run.decided_at), "approval", run.id, _decision(run)))
    for comment in await repository.comments(session, card_id, after, limit + 1):
        found.append((as_utc(comment.created_at), "comment", comment.id, _comment(comment)))
    # Newest first; at one instant, by source and id, as the queries order them.
    found.sort(key=lambda row: (row[0], row[1], str(row[2])), reverse=True)
    shown = found[:limit]
    more = len(found) > limit
    next_cursor = encode_cursor(shown[-1][0].isoformat(), shown[-1][1], shown[-1][2]) if more and shown else None
    return ActivityPageOut(items=[row[3] for row in shown], next_cursor=next_cursor)


def _audited(entry: AuditEntry, lanes: dict[str, str]) -> ActivityItemOut:
    kind = KINDS.get(entry.action, "other")
    before, after = entry.before or {}, entry.after or {}
    item = ActivityItemOut(
        id=f"audit:{entry.id}", kind=kind, action=entry.action, at=entry.created_at, actor_id=entry.actor_id
    )
    if kind == "edited":
        item.changes = _changes(before, after)
    if kind == "moved":
        item.from_lane = lanes.get(str(before.get("lane_id")), "a removed lane")
        item.to_lane = lanes.get(str(after.get("lane_id")), "a removed lane")
    if kind == "merged":
        item.branch, item.sha = str(after.get("branch", "")), str(after.get("sha", ""))
    return item


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[ActivityChangeOut]:
    fields = [f for f in after if f not in UNSHOWN and before.get(f) != after.get(f)]
    return [ActivityChangeOut(field=f, before=before.get(f), after=after.get(f)) for f in fields]


def _run(run: AgentRun) -> ActivityItemOut:
    status = "awaiting approval" if run.approval == "pending" else run.status
    return ActivityItemOut(
        id=f"run:{run.id}",
        kind="run",
        action="agent.run",
        at=run.created_at,
        agent=run.agent,
        run_id=run.id,
        status=status,
        reason=run.reason or run.error_code,
    )


def _decision(run: AgentRun) -> ActivityItemOut:
    assert run.decided_at is not None
    return ActivityItemOut(
        id=f"approval:{run.id}",
        kind="approval",
        action=f"run.{run.approval}",
        at=run.decided_at,
        actor_id=run.decided_by,
        agent=run.agent,
        run_id=run.id,
        decision=run.approval,
        text=run.approval_comment,
    )


def _comment(comment: CardComment) -> ActivityItemOut:
    return ActivityItemOut(
        id=f"comment:{comment.id}",
        kind="comment",
        action="comment.deleted" if comment.deleted_at is not None else "comment.created",
        at=comment.created_at,
        actor_id=comment.author_id,
        agent=comment.agent,
        run_id=comment.run_id,
        comment_id=comment.id,
        text="" if comment.deleted_at is not None else comment.body,
    )
