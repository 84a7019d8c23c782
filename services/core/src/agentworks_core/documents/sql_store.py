"""The embedded documents adapter: versions in core's own database, inside the request's transaction."""

from __future__ import annotations

import uuid

from agentworks_documents.port import DocumentHead, NewVersion, StoredVersion
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.documents import repository
from agentworks_core.models import Document, DocumentVersion


def _head(document: Document) -> DocumentHead:
    return DocumentHead(
        id=document.id,
        project_id=document.project_id,
        kind=document.kind,
        title=document.title,
        latest_version=document.latest_version,
        updated_at=document.updated_at,
    )


def _version(row: DocumentVersion) -> StoredVersion:
    return StoredVersion(
        version=row.version,
        title=row.title,
        content=row.content,
        content_type=row.content_type,
        author_id=row.author_id,
        source_run_id=row.source_run_id,
        created_at=row.created_at,
        agent=row.agent,
    )


class SqlDocumentStore:
    """Bound to one request's session, so a document write commits or rolls back with everything else."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, new: NewVersion) -> DocumentHead:
        session = self._session
        document = await repository.document(session, new.project_id, new.kind, lock=True)
        if document is None:
            document = Document(
                id=uuid.uuid4(),
                workspace_id=new.workspace_id,
                project_id=new.project_id,
                kind=new.kind,
                title=new.title,
                latest_version=0,
            )
            session.add(document)
            await session.flush()
        document.latest_version += 1
        document.title, document.updated_at = new.title, new.created_at
        session.add(
            DocumentVersion(
                workspace_id=new.workspace_id,
                document_id=document.id,
                version=document.latest_version,
                title=new.title,
                content=new.content,
                content_type=new.content_type,
                author_id=new.author_id,
                source_run_id=new.source_run_id,
                agent=new.agent,
                created_at=new.created_at,
            )
        )
        await session.flush()
        return _head(document)

    async def _document(self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str) -> Document | None:
        document = await repository.document(self._session, project_id, kind)
        return document if document is not None and document.workspace_id == workspace_id else None

    async def heads(self, workspace_id: uuid.UUID, project_id: uuid.UUID) -> list[DocumentHead]:
        rows = await repository.documents(self._session, project_id)
        return [_head(d) for d in rows if d.workspace_id == workspace_id]

    async def head(self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str) -> DocumentHead | None:
        document = await self._document(workspace_id, project_id, kind)
        return _head(document) if document else None

    async def version(
        self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str, number: int
    ) -> StoredVersion | None:
        document = await self._document(workspace_id, project_id, kind)
        row = await repository.version(self._session, document.id, number) if document else None
        return _version(row) if row else None

    async def versions(
        self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str, before: int | None, limit: int
    ) -> list[StoredVersion]:
        document = await self._document(workspace_id, project_id, kind)
        if document is None:
            return []
        return [_version(r) for r in await repository.versions(self._session, document.id, before, limit)]
