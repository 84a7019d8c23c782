"""Run queries: a card's runs, the lane a run is gated by, the documents a run reads, and who owns the ids an
agent-runs event names."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import AgentRun, AppliedEffect, Card, Document, DocumentVersion, Lane, ResourceIndex


async def runs_of_card(session: AsyncSession, card_id: uuid.UUID) -> Sequence[AgentRun]:
    """A card's runs, newest first."""
    query = select(AgentRun).where(AgentRun.card_id == card_id).order_by(AgentRun.created_at.desc(), AgentRun.id)
    return (await session.scalars(query)).all()


async def lane_of(session: AsyncSession, card: Card, lane_number: int | None) -> Lane | None:
    """The lane numbered ``lane_number`` on the card's board; usually the card's own (no second query)."""
    current = await session.get(Lane, card.lane_id)
    if lane_number is None or current is None or current.number == lane_number:
        return current
    query = select(Lane).where(Lane.board_id == card.board_id, Lane.number == lane_number)
    return await session.scalar(query) or current


async def latest_documents(session: AsyncSession, project_id: uuid.UUID) -> Sequence[Row[str, str, int, str]]:
    """Kind, title, version and content of the latest version of each of the project's documents, by kind."""
    query = (
        select(Document.kind, Document.title, DocumentVersion.version, DocumentVersion.content)
        .join(
            DocumentVersion,
            (DocumentVersion.document_id == Document.id) & (DocumentVersion.version == Document.latest_version),
        )
        .where(Document.project_id == project_id, Document.card_id.is_(None))
        .order_by(Document.kind)
    )
    return (await session.execute(query)).all()


async def index_entries(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[ResourceIndex]:
    """The resource index's entries for ``ids`` (every tenant's: the index is not row-level secured)."""
    return (await session.scalars(select(ResourceIndex).where(ResourceIndex.id.in_(ids)))).all()


async def run_for_update(session: AsyncSession, run_id: uuid.UUID) -> AgentRun | None:
    return await session.get(AgentRun, run_id, with_for_update=True)


async def effects_awaiting_approval(session: AsyncSession, run_id: uuid.UUID) -> Sequence[AppliedEffect]:
    """The run's move requests held at its lane's approval gate."""
    query = select(AppliedEffect).where(AppliedEffect.run_id == run_id, AppliedEffect.outcome == "awaiting_approval")
    return (await session.scalars(query.order_by(AppliedEffect.step, AppliedEffect.call_id))).all()


async def has_pending_approval(session: AsyncSession, card_id: uuid.UUID) -> bool:
    """Whether a run on the card waits for a person's decision at its lane's gate."""
    query = select(AgentRun.id).where(AgentRun.card_id == card_id, AgentRun.approval == "pending").limit(1)
    return await session.scalar(query) is not None
