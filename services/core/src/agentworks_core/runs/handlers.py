"""Core's reaction to agent-runs: the run projection, the effects of tool-using runs' steps (``effects.py``),
and document versions and child cards from single-call runs' artifacts.

Each handler runs in the push receiver's transaction, so the inbox row and the effect commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from agentworks_documents.port import DocumentStore, NewVersion
from agentworks_events import (
    AgentRunCancelled,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunSkipped,
    AgentRunStarted,
    AgentRunStep,
    utc_now,
)
from agentworks_platform.db import set_tenant
from agentworks_pubsub import Outbox, PermanentEventError, PushMessage
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import index_resource
from agentworks_core.agents.registry import BY_KEY
from agentworks_core.audit.handlers import handlers as audit_handlers
from agentworks_core.cards.service import add_agent_child
from agentworks_core.documents.sql_store import SqlDocumentStore
from agentworks_core.models import AgentRun, Card, Project
from agentworks_core.notifications import service as notifications
from agentworks_core.notifications.handlers import handlers as budget_handlers
from agentworks_core.notifications.service import News
from agentworks_core.projects import repository as projects
from agentworks_core.runs import effects, repository

RANK = {"queued": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2, "refused": 2, "skipped": 2}


async def _run(session: AsyncSession, event: Any) -> AgentRun:
    await set_tenant(session, workspace_id=event.workspace_id)
    await _ensure_owned(session, event)
    run = await session.get(AgentRun, event.run_id)
    if run is not None and (run.project_id, run.card_id) != (event.project_id, event.card_id):
        raise PermanentEventError(f"run {event.run_id} belongs to another project or card than the event names")
    if run is None:
        if await session.get(Project, event.project_id) is None:
            raise PermanentEventError(f"project {event.project_id} does not exist (deleted?); run not projected")
        run = AgentRun(
            id=event.run_id,
            workspace_id=event.workspace_id,
            project_id=event.project_id,
            card_id=event.card_id,
            agent=event.agent,
            status="queued",
            attempt=event.attempt,
            created_at=event.occurred_at,
        )
        session.add(run)
        index_resource(session, "run", event.run_id, event.workspace_id)
        await session.flush()
    return run


async def _ensure_owned(session: AsyncSession, event: Any) -> None:
    """The project, run and card an event names must be its workspace's, and the card its project's.

    The resource index sees every tenant (row-level security would only hide a foreign row, and the run
    would then be created again under the wrong workspace). A card deleted since has no entry: allowed."""
    named = {event.project_id: "project", event.run_id: "run"}
    if event.card_id is not None:
        named[event.card_id] = "card"
    for entry in await repository.index_entries(session, list(named)):
        if (entry.kind, entry.workspace_id) != (named[entry.id], event.workspace_id):
            raise PermanentEventError(f"{named[entry.id]} {entry.id} is not one of workspace {event.workspace_id}'s")
    card = await session.get(Card, event.card_id) if event.card_id is not None else None
    if card is not None and card.project_id != event.project_id:
        raise PermanentEventError(f"card {card.id} is not in project {event.project_id}")


def _advance(run: AgentRun, status: str) -> bool:
    """Status only moves forward; the first terminal status wins."""
    if RANK[status] < RANK[run.status] or (RANK[run.status] == 2 and run.status != status):
        return False
    run.status = status
    return True


async def on_started(session: AsyncSession, event: AgentRunStarted, _push: PushMessage) -> None:
    run = await _run(session, event)
    run.kind, run.provider, run.model = event.kind, event.provider, event.model
    run.attempt = max(run.attempt, event.attempt)
    if _advance(run, "running"):
        run.started_at = event.occurred_at


def failed_handler(outbox: Outbox) -> Any:
    async def on_failed(session: AsyncSession, event: AgentRunFailed, _push: PushMessage) -> None:
        run = await _run(session, event)
        if _advance(run, "refused" if event.refused else "failed"):
            run.error_code, run.reason, run.finished_at = event.error_code, event.reason, event.occurred_at
            _totals(run, event)
            await announce_outcome(session, outbox, run)

    return on_failed


async def announce_outcome(session: AsyncSession, outbox: Outbox, run: AgentRun) -> None:
    """Tell the people following the run's card that it finished, failed or waits for their approval."""
    card = await session.get(Card, run.card_id) if run.card_id is not None else None
    if card is None:
        return
    name = BY_KEY[run.agent].display_name if run.agent in BY_KEY else run.agent
    if run.status == "completed" and run.approval == "pending":
        news = News("approval_requested", f"{name} waits for approval on {card.title}", run.summary)
    elif run.status == "completed":
        news = News("run_finished", f"{name} finished on {card.title}", run.summary)
    else:
        news = News("run_failed", f"{name} failed on {card.title}", run.reason or run.error_code or "")
    news = replace(news, agent=run.agent, run_id=run.id)
    await notifications.notify(session, outbox, card, await notifications.audience(session, card), news)


async def on_cancelled(session: AsyncSession, event: AgentRunCancelled, _push: PushMessage) -> None:
    run = await _run(session, event)
    if _advance(run, "cancelled"):
        run.reason, run.finished_at = event.reason or "cancelled", event.occurred_at
        _totals(run, event)


async def on_skipped(session: AsyncSession, event: AgentRunSkipped, _push: PushMessage) -> None:
    run = await _run(session, event)
    if _advance(run, "skipped"):
        run.error_code, run.reason, run.finished_at = event.reason_code, event.reason, event.occurred_at


def step_handler(outbox: Outbox) -> Any:
    async def on_step(session: AsyncSession, event: AgentRunStep, _push: PushMessage) -> None:
        run = await _run(session, event)
        await effects.verify_step(session, event)
        if RANK[run.status] < 2 and event.step > run.steps:
            _advance(run, "running")
            run.steps = event.step
            run.input_tokens, run.output_tokens = event.tokens.input_tokens, event.tokens.output_tokens
            run.cost = event.cost
        await effects.apply_step(session, outbox, run, event)

    return on_step


def _totals(run: AgentRun, event: Any) -> None:
    run.input_tokens, run.output_tokens = event.tokens.input_tokens, event.tokens.output_tokens
    run.cost, run.price = event.cost, event.price


ProjectDocuments = Callable[[AsyncSession], DocumentStore]
"""The store of a project's own documents for a message's session: Firestore in production, else core's database."""


def completed_handler(outbox: Outbox, project_documents: ProjectDocuments) -> Any:
    async def on_completed(session: AsyncSession, event: AgentRunCompleted, _push: PushMessage) -> None:
        run = await _run(session, event)
        if not _advance(run, "completed"):
            return
        run.provider, run.model, run.summary = event.provider, event.model, event.artifacts.summary
        run.finished_at = event.occurred_at
        run.steps, run.stopped_at_limit = max(run.steps, event.steps), event.stopped_at_limit
        if event.requires_approval and run.approval is None:
            run.approval = "pending"
        _totals(run, event)
        await _write_documents(project_documents(session), event)
        await _create_child_cards(session, outbox, event)
        await announce_outcome(session, outbox, run)

    return on_completed


async def _write_documents(store: DocumentStore, event: AgentRunCompleted) -> None:
    """A single-call run's documents, as new versions of the project's documents in the store the documents page
    reads; once per run even if the store is outside this transaction and the completion is delivered again."""
    for document in event.artifacts.documents:
        await store.append(
            NewVersion(
                workspace_id=event.workspace_id,
                project_id=event.project_id,
                kind=document.kind,
                title=document.title,
                content=document.content,
                content_type=document.content_type,
                author_id=None,
                source_run_id=event.run_id,
                created_at=utc_now(),
                agent=event.agent,
                once_per_run=True,
            )
        )


async def _create_child_cards(session: AsyncSession, outbox: Outbox, event: AgentRunCompleted) -> None:
    if not event.artifacts.child_cards or event.card_id is None:
        return
    parent = await session.get(Card, event.card_id)
    if parent is None:
        return
    lanes = await projects.lanes_of(session, parent.board_id)
    for child in event.artifacts.child_cards:
        lane = effects.child_lane(lanes, child.lane_number)
        fields = child.model_dump(include={"title", "description", "card_type"})
        await add_agent_child(
            session, outbox, parent, lane, uuid.uuid5(event.run_id, child.title), fields, event.run_id
        )


def handlers(outbox: Outbox, project_documents: ProjectDocuments = SqlDocumentStore) -> dict[str, dict[str, Any]]:
    """Every subscription's handlers: agent-runs here (merges in the audit domain), billing's budget signals in the
    notifications domain."""
    return {
        **budget_handlers(),
        "core-agent-runs": {
            "agent.run.started": on_started,
            "agent.run.step": step_handler(outbox),
            "agent.run.skipped": on_skipped,
            "agent.run.completed": completed_handler(outbox, project_documents),
            "agent.run.failed": failed_handler(outbox),
            "agent.run.cancelled": on_cancelled,
            **audit_handlers(),
        },
    }
