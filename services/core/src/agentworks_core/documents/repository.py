"""Document queries: a head row per (project, kind) for a project's own documents and per (card, kind) for a
card's, and an append-only table of versions."""

from __future__ import annotations

import uuid

from agentworks_platform.db import locks_rows
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import AgentRun, Card, Document, DocumentVersion


async def documents(session: AsyncSession, project_id: uuid.UUID) -> list[Document]:
    """The project's own documents (not its cards')."""
    query = select(Document).where(Document.project_id == project_id, Document.card_id.is_(None))
    return list((await session.scalars(query.order_by(Document.kind))).all())


async def documents_of_cards(session: AsyncSession, project_id: uuid.UUID) -> list[tuple[Document, str]]:
    """The documents of the project's cards, each with its card's title (a deleted card's are left out: they
    cannot be opened)."""
    query = (
        select(Document, Card.title)
        .join(Card, Card.id == Document.card_id)
        .where(Document.project_id == project_id)
        .order_by(Document.updated_at.desc(), Document.kind)
    )
    return [(document, title) for document, title in (await session.execute(query)).all()]


async def document(session: AsyncSession, project_id: uuid.UUID, kind: str, *, lock: bool = False) -> Document | None:
    query = select(Document).where(Document.project_id == project_id, Document.card_id.is_(None), Document.kind == kind)
    if lock and locks_rows(session):
        query = query.with_for_update()
    return await session.scalar(query)


async def card_documents(session: AsyncSession, card_id: uuid.UUID) -> list[tuple[Document, DocumentVersion]]:
    """A card's documents by kind, each with its newest version."""
    query = (
        select(Document, DocumentVersion)
        .join(
            DocumentVersion,
            (DocumentVersion.document_id == Document.id) & (DocumentVersion.version == Document.latest_version),
        )
        .where(Document.card_id == card_id)
        .order_by(Document.kind)
    )
    return [(document, version) for document, version in (await session.execute(query)).all()]


async def card_document(session: AsyncSession, card_id: uuid.UUID, kind: str, *, lock: bool = False) -> Document | None:
    query = select(Document).where(Document.card_id == card_id, Document.kind == kind)
    if lock and locks_rows(session):
        query = query.with_for_update()
    return await session.scalar(query)


async def version(session: AsyncSession, document_id: uuid.UUID, number: int) -> DocumentVersion | None:
    return await session.scalar(
        select(DocumentVersion).where(DocumentVersion.document_id == document_id, DocumentVersion.version == number)
    )


async def versions(
    session: AsyncSession, document_id: uuid.UUID, before: int | None, limit: int
) -> list[DocumentVersion]:
    query = select(DocumentVersion).where(DocumentVersion.document_id == document_id)
    if before is not None:
        query = query.where(DocumentVersion.version < before)
    return list((await session.scalars(query.order_by(DocumentVersion.version.desc()).limit(limit + 1))).all())


async def cards_of_runs(session: AsyncSession, run_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """The card (id and title) each run worked on; a run without a card, or whose card is gone, is left out."""
    if not run_ids:
        return {}
    query = (
        select(AgentRun.id, Card.id, Card.title).join(Card, Card.id == AgentRun.card_id).where(AgentRun.id.in_(run_ids))
    )
    return {run_id: (card_id, title) for run_id, card_id, title in (await session.execute(query)).all()}
