"""log-stream's reaction to agent-runs (store lines and transcript steps once, move run status forward, record why
a run was skipped, refused or failed) and to card-events (record which board a card is on; relay a notification to
its one recipient); each fans out to terminals, boards and people after commit."""

from __future__ import annotations

import uuid
from typing import Any

from agentworks_events import (
    AgentRunFailed,
    AgentRunLog,
    AgentRunSkipped,
    AgentRunStarted,
    AgentRunStep,
    NotificationCreated,
)
from agentworks_pubsub import PermanentEventError, PushMessage
from agentworks_pubsub.receiver import HandlerMap
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_log_stream.models import CardBoard, RunLog
from agentworks_log_stream.terminal import repository
from agentworks_log_stream.terminal.archive import Archiver
from agentworks_log_stream.terminal.fanout import Fanout, line_message

BOARD_OF = {
    "card.created": "card",
    "card.updated": "card",
    "card.moved": None,
    "card.deleted": None,
    "card.archived": None,
    "card.unarchived": "card",
}
"""The card events a board shows, and where each names its board (on the card's snapshot, or its own field)."""
TERMINAL_STATUS = {"agent.run.completed": "completed", "agent.run.failed": "failed", "agent.run.cancelled": "cancelled"}
RANK = {"queued": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2, "skipped": 2, "refused": 2}


def status_message(run: RunLog) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "status",
        "run_id": str(run.run_id),
        "agent": run.agent,
        "status": run.status,
        "last_seq": run.last_seq,
    }
    if run.reason_code is not None:
        message.update(reason_code=run.reason_code, reason=run.reason)
    return message


async def ensure_same_run(session: AsyncSession, event: Any) -> None:
    """A run keeps the workspace, project and card its first event gave it (core's ids are checked before)."""
    run = await session.get(RunLog, event.run_id)
    if run is None:
        return
    if (run.workspace_id, run.project_id, run.card_id) != (event.workspace_id, event.project_id, event.card_id):
        raise PermanentEventError(f"run {event.run_id} belongs to another workspace, project or card")


async def advance(session: AsyncSession, event: Any, status: str, last_seq: int | None = None) -> RunLog | None:
    """Create or move the run's status forward; None when the event is stale (status already further)."""
    run = await session.get(RunLog, event.run_id)
    if run is None:
        run = RunLog(
            run_id=event.run_id,
            workspace_id=event.workspace_id,
            project_id=event.project_id,
            card_id=event.card_id,
            agent=event.agent,
            status=status,
            created_at=event.occurred_at,
            last_seq=last_seq,
        )
        session.add(run)
        # A delivery racing another to create the run fails here, at its own insert, and is retried: not
        # later inside a savepoint of the fan-out, where the whole transaction would be rolled back.
        await session.flush()
        return run
    if RANK[status] < RANK[run.status] or (RANK[run.status] == 2 and run.status != status) or run.status == status:
        return None
    run.status = status
    if last_seq is not None:
        run.last_seq = last_seq
    return run


def board_named(event: Any) -> uuid.UUID:
    """The board whose channel a card event goes to."""
    return event.card.board_id if BOARD_OF[event.type] == "card" else event.board_id  # type: ignore[no-any-return]


def person_topic(workspace_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    """The hub topic of one person's notifications in one workspace: only their board sockets of that workspace
    hear it (a board id is random, so no board shares it)."""
    return uuid.uuid5(workspace_id, f"person:{user_id}")


def notification_message(event: NotificationCreated) -> dict[str, Any]:
    fields = ("notification_id", "kind", "title", "body", "card_id", "project_id", "occurred_at")
    return {"type": "notification", **event.model_dump(mode="json", include=set(fields))}


def handlers(fanout: Fanout, archiver: Archiver) -> HandlerMap:
    """Every subscription's handlers: agent-runs to terminals (and boards' run status), card-events to boards."""
    return {**_run_handlers(fanout, archiver), **_card_handlers(fanout)}


def _card_handlers(fanout: Fanout) -> HandlerMap:
    async def on_card(session: AsyncSession, event: Any, _push: PushMessage) -> None:
        board_id = board_named(event)
        row = await session.get(CardBoard, event.card_id)
        if row is None:
            session.add(CardBoard(card_id=event.card_id, board_id=board_id))
        else:
            row.board_id = board_id
        await fanout.message(session, board_id, {"type": "card", "event": event.model_dump(mode="json")})

    async def on_notification(session: AsyncSession, event: NotificationCreated, _push: PushMessage) -> None:
        topic = person_topic(event.workspace_id, event.recipient_id)
        await fanout.message(session, topic, notification_message(event))

    return {"log-stream-card-events": {**dict.fromkeys(BOARD_OF, on_card), "notification.created": on_notification}}


def _run_handlers(fanout: Fanout, archiver: Archiver) -> HandlerMap:
    async def on_log(session: AsyncSession, event: AgentRunLog, _push: PushMessage) -> None:
        await ensure_same_run(session, event)
        await advance(session, event, "running")
        fresh = await repository.store_lines(session, event.run_id, event.card_id, event.lines)
        run = await session.get(RunLog, event.run_id)
        if run is not None and fresh:
            await session.flush()
            await archiver.archive_if_complete(session, run)
        if event.card_id is None or not fresh:
            return
        messages = [line_message(event.run_id, x.seq, x.at, x.stream, x.text) for x in fresh]
        await fanout.lines(session, event.card_id, event.run_id, messages)

    async def on_step(session: AsyncSession, event: AgentRunStep, _push: PushMessage) -> None:
        await ensure_same_run(session, event)
        await advance(session, event, "running")
        row = await repository.store_step(session, event)
        if row is not None and event.card_id is not None:
            await fanout.step(session, event.card_id, row)

    async def on_status(session: AsyncSession, event: Any, _push: PushMessage) -> None:
        await ensure_same_run(session, event)
        status = "running" if isinstance(event, AgentRunStarted) else TERMINAL_STATUS[event.type]
        if isinstance(event, AgentRunFailed) and event.refused:
            status = "refused"  # published before refusals were skips; still in flight
        run = await advance(session, event, status, getattr(event, "last_seq", None))
        if run is not None and isinstance(event, AgentRunFailed):
            run.reason_code, run.reason = event.error_code, event.reason
        await _ended(session, run, event.card_id)

    async def on_skipped(session: AsyncSession, event: AgentRunSkipped, _push: PushMessage) -> None:
        await ensure_same_run(session, event)
        # A run skipped at its first model call had started, and may have written lines (a takeover's note).
        run = await advance(session, event, "skipped", event.last_seq or None)
        if run is not None:
            run.reason_code, run.reason = event.reason_code, event.reason
        await _ended(session, run, event.card_id)

    async def _ended(session: AsyncSession, run: RunLog | None, card_id: uuid.UUID | None) -> None:
        if run is not None:
            await session.flush()
            await archiver.archive_if_complete(session, run)
        await _announce(session, run, card_id)

    async def _announce(session: AsyncSession, run: RunLog | None, card_id: uuid.UUID | None) -> None:
        """A run's new status to its card's terminals and its board."""
        if run is None or card_id is None:
            return
        message = status_message(run)
        await fanout.message(session, card_id, message)
        board_id = await repository.board_of(session, card_id)
        if board_id is not None:
            await fanout.message(session, board_id, {**message, "card_id": str(card_id)})

    on_each: dict[str, Any] = {"agent.run.log": on_log, "agent.run.step": on_step, "agent.run.skipped": on_skipped}
    on_each.update(dict.fromkeys(("agent.run.started", *TERMINAL_STATUS), on_status))
    return {"log-stream-agent-runs": on_each}
