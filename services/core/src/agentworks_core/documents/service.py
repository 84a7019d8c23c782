"""Project documents with full version history; every write is a new version, nothing is overwritten."""

from __future__ import annotations

import uuid

from agentworks_events import utc_now
from agentworks_platform.errors import NotFound
from agentworks_platform.pagination import decode_cursor, encode_cursor
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.audit import service as audit
from agentworks_core.documents import repository
from agentworks_core.documents.schemas import DocumentOut, DocumentWrite, VersionMeta, VersionOut
from agentworks_core.models import Document, DocumentVersion, Project


async def _project(session: AsyncSession, project_id: uuid.UUID) -> None:
    if await session.get(Project, project_id) is None:
        raise NotFound(f"No project with id {project_id}.")


async def _document(session: AsyncSession, project_id: uuid.UUID, kind: str) -> Document:
    await _project(session, project_id)
    document = await repository.document(session, project_id, kind)
    if document is None:
        raise NotFound(f"This project has no {kind!r} document yet.")
    return document


async def list_documents(session: AsyncSession, project_id: uuid.UUID) -> list[DocumentOut]:
    await _project(session, project_id)
    return [DocumentOut.model_validate(d) for d in await repository.documents(session, project_id)]


async def write(
    session: AsyncSession,
    access: Access,
    project_id: uuid.UUID,
    kind: str,
    body: DocumentWrite,
    source_run_id: uuid.UUID | None = None,
) -> DocumentOut:
    """Append a version (creating the document on first write)."""
    await _project(session, project_id)
    document = await repository.document(session, project_id, kind, lock=True)
    title = body.title or (document.title if document else kind.replace("_", " ").title())
    if document is None:
        document = Document(
            id=uuid.uuid4(),
            workspace_id=access.workspace_id,
            project_id=project_id,
            kind=kind,
            title=title,
            latest_version=0,
        )
        session.add(document)
        await session.flush()
    document.latest_version += 1
    document.title, document.updated_at = title, utc_now()
    session.add(
        DocumentVersion(
            workspace_id=access.workspace_id,
            document_id=document.id,
            version=document.latest_version,
            title=title,
            content=body.content,
            content_type=body.content_type,
            author_id=access.principal.user_id,
            source_run_id=source_run_id,
            created_at=utc_now(),
        )
    )
    await session.flush()
    audit.record(
        session,
        access,
        "document.versioned",
        "document",
        document.id,
        after={"kind": kind, "version": document.latest_version, "bytes": len(body.content)},
    )
    return DocumentOut.model_validate(document)


async def latest(session: AsyncSession, project_id: uuid.UUID, kind: str) -> VersionOut:
    document = await _document(session, project_id, kind)
    return await version(session, project_id, kind, document.latest_version)


async def version(session: AsyncSession, project_id: uuid.UUID, kind: str, number: int) -> VersionOut:
    document = await _document(session, project_id, kind)
    found = await repository.version(session, document.id, number)
    if found is None:
        raise NotFound(f"The {kind!r} document has no version {number}.")
    return VersionOut.model_validate(found)


async def history(
    session: AsyncSession, project_id: uuid.UUID, kind: str, cursor: str | None, limit: int
) -> tuple[list[VersionMeta], str | None]:
    document = await _document(session, project_id, kind)
    before = decode_cursor(cursor, (int,))
    rows = await repository.versions(session, document.id, before[0] if before else None, limit)
    more, rows = len(rows) > limit, rows[:limit]
    return [VersionMeta.model_validate(r) for r in rows], encode_cursor(rows[-1].version) if more and rows else None
