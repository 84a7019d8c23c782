"""Document queries: a head row per (project, kind) and an append-only table of versions."""

from __future__ import annotations

import uuid

from agentworks_platform.db import locks_rows
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.models import Document, DocumentVersion


async def documents(session: AsyncSession, project_id: uuid.UUID) -> list[Document]:
    query = select(Document).where(Document.project_id == project_id).order_by(Document.kind)
    return list((await session.scalars(query)).all())


async def document(session: AsyncSession, project_id: uuid.UUID, kind: str, *, lock: bool = False) -> Document | None:
    query = select(Document).where(Document.project_id == project_id, Document.kind == kind)
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
