"""Project documents with full version history; every write is a new version, nothing is overwritten."""

from __future__ import annotations

import uuid
from typing import TypeVar

from agentworks_documents.port import DocumentHead, DocumentStore, NewVersion
from agentworks_events import utc_now
from agentworks_internal_api.core import CardDocumentOut, CardDocumentVersionOut
from agentworks_platform.errors import NotFound
from agentworks_platform.pagination import decode_cursor, encode_cursor
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.audit import service as audit
from agentworks_core.documents import repository
from agentworks_core.documents.schemas import DocumentOut, DocumentWrite, VersionMeta, VersionOut
from agentworks_core.models import Card, Document, DocumentVersion, Project

V = TypeVar("V", VersionOut, VersionMeta)


def _out(head: DocumentHead) -> DocumentOut:
    return DocumentOut(
        id=head.id,
        project_id=head.project_id,
        kind=head.kind,
        title=head.title,
        latest_version=head.latest_version,
        updated_at=head.updated_at,
    )


async def _with_cards(session: AsyncSession, versions: list[V]) -> list[V]:
    """The versions with the card of the run that wrote each (a run's card lives in core's database, whichever
    store holds the versions)."""
    cards = await repository.cards_of_runs(session, {v.source_run_id for v in versions if v.source_run_id})
    out = []
    for v in versions:
        card = cards.get(v.source_run_id) if v.source_run_id else None
        out.append(v.model_copy(update={"card_id": card[0], "card_title": card[1]}) if card else v)
    return out


async def _project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    return project


async def _head(session: AsyncSession, store: DocumentStore, project_id: uuid.UUID, kind: str) -> DocumentHead:
    project = await _project(session, project_id)
    head = await store.head(project.workspace_id, project_id, kind)
    if head is None:
        raise NotFound(f"This project has no {kind!r} document yet.")
    return head


async def list_documents(session: AsyncSession, store: DocumentStore, project_id: uuid.UUID) -> list[DocumentOut]:
    """Every document of the project, newest first: its own (from the documents port) and its cards' (each with
    the card it belongs to)."""
    project = await _project(session, project_id)
    own = [_out(head) for head in await store.heads(project.workspace_id, project_id)]
    of_cards = [
        DocumentOut(
            id=document.id,
            project_id=document.project_id,
            kind=document.kind,
            title=document.title,
            latest_version=document.latest_version,
            updated_at=document.updated_at,
            card_id=document.card_id,
            card_title=card_title,
        )
        for document, card_title in await repository.documents_of_cards(session, project_id)
    ]
    return sorted(own + of_cards, key=lambda doc: doc.updated_at, reverse=True)


async def write(
    session: AsyncSession,
    store: DocumentStore,
    access: Access,
    project_id: uuid.UUID,
    kind: str,
    body: DocumentWrite,
    source_run_id: uuid.UUID | None = None,
) -> DocumentOut:
    """Append a version (creating the document on first write)."""
    project = await _project(session, project_id)
    current = await store.head(project.workspace_id, project_id, kind)
    title = body.title or (current.title if current else kind.replace("_", " ").title())
    head = await store.append(
        NewVersion(
            workspace_id=access.workspace_id,
            project_id=project_id,
            kind=kind,
            title=title,
            content=body.content,
            content_type=body.content_type,
            author_id=access.principal.user_id,
            source_run_id=source_run_id,
            created_at=utc_now(),
        )
    )
    audit.record(
        session,
        access,
        "document.versioned",
        "document",
        head.id,
        after={"kind": kind, "version": head.latest_version, "bytes": len(body.content)},
    )
    return _out(head)


async def latest(session: AsyncSession, store: DocumentStore, project_id: uuid.UUID, kind: str) -> VersionOut:
    head = await _head(session, store, project_id, kind)
    return await version(session, store, project_id, kind, head.latest_version)


async def version(
    session: AsyncSession, store: DocumentStore, project_id: uuid.UUID, kind: str, number: int
) -> VersionOut:
    project = await _project(session, project_id)
    found = await store.version(project.workspace_id, project_id, kind, number)
    if found is None:
        await _head(session, store, project_id, kind)
        raise NotFound(f"The {kind!r} document has no version {number}.")
    [out] = await _with_cards(session, [VersionOut.model_validate(found, from_attributes=True)])
    return out


async def history(
    session: AsyncSession, store: DocumentStore, project_id: uuid.UUID, kind: str, cursor: str | None, limit: int
) -> tuple[list[VersionMeta], str | None]:
    project = await _project(session, project_id)
    await _head(session, store, project_id, kind)
    before = decode_cursor(cursor, (int,))
    rows = await store.versions(project.workspace_id, project_id, kind, before[0] if before else None, limit)
    more, rows = len(rows) > limit, rows[:limit]
    items = await _with_cards(session, [VersionMeta.model_validate(r, from_attributes=True) for r in rows])
    return items, encode_cursor(rows[-1].version) if more and rows else None


async def append_card_version(
    session: AsyncSession, card: Card, kind: str, body: DocumentWrite, run_id: uuid.UUID, agent: str
) -> DocumentVersion:
    """A new version of the card's document ``kind`` written by an agent's run: each card has its own lineage, so
    its versions count from 1 whatever other cards' documents of that kind hold. Kept in core's database (with
    the effect that writes it, in one transaction) in every environment."""
    document = await repository.card_document(session, card.id, kind, lock=True)
    now = utc_now()
    if document is None:
        document = Document(
            id=uuid.uuid4(),
            workspace_id=card.workspace_id,
            project_id=card.project_id,
            card_id=card.id,
            kind=kind,
            title=body.title or kind,
            latest_version=0,
        )
        session.add(document)
        await session.flush()
    document.latest_version += 1
    document.title, document.updated_at = body.title or document.title, now
    version = DocumentVersion(
        workspace_id=card.workspace_id,
        document_id=document.id,
        version=document.latest_version,
        title=document.title,
        content=body.content,
        content_type=body.content_type,
        source_run_id=run_id,
        agent=agent,
        created_at=now,
    )
    session.add(version)
    await session.flush()
    return version


async def _card_lineage(session: AsyncSession, card_id: uuid.UUID, kind: str) -> tuple[Card, Document]:
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"No card with id {card_id}.")
    document = await repository.card_document(session, card_id, kind)
    if document is None:
        raise NotFound(f"This card has no {kind!r} document yet.")
    return card, document


def _card_version(card: Card, row: DocumentVersion) -> dict[str, object]:
    return {
        "version": row.version,
        "title": row.title,
        "content": row.content,
        "content_type": row.content_type,
        "author_id": row.author_id,
        "source_run_id": row.source_run_id,
        "agent": row.agent,
        "card_id": card.id,
        "card_title": card.title,
        "created_at": row.created_at,
    }


async def card_history(
    session: AsyncSession, card_id: uuid.UUID, kind: str, cursor: str | None, limit: int
) -> tuple[list[VersionMeta], str | None]:
    """The versions of the card's document ``kind``, newest first."""
    card, document = await _card_lineage(session, card_id, kind)
    before = decode_cursor(cursor, (int,))
    rows = await repository.versions(session, document.id, before[0] if before else None, limit)
    more, rows = len(rows) > limit, rows[:limit]
    items = [VersionMeta.model_validate(_card_version(card, row)) for row in rows]
    return items, encode_cursor(rows[-1].version) if more and rows else None


async def card_version(session: AsyncSession, card_id: uuid.UUID, kind: str, number: int) -> VersionOut:
    card, document = await _card_lineage(session, card_id, kind)
    row = await repository.version(session, document.id, number)
    if row is None:
        raise NotFound(f"This card's {kind!r} document has no version {number}.")
    return VersionOut.model_validate(_card_version(card, row))


def _card_document(document: Document, version: DocumentVersion) -> dict[str, object]:
    return {
        "name": document.kind,
        "title": version.title,
        "card_id": document.card_id,
        "version": version.version,
        "content_type": version.content_type,
        "agent": version.agent,
        "run_id": version.source_run_id,
        "author_id": version.author_id,
        "created_at": version.created_at,
    }


async def card_documents(session: AsyncSession, card_id: uuid.UUID) -> list[CardDocumentOut]:
    """The card's documents, each at its newest version, without content."""
    if await session.get(Card, card_id) is None:
        raise NotFound(f"No card with id {card_id}.")
    rows = await repository.card_documents(session, card_id)
    return [CardDocumentOut.model_validate(_card_document(document, version)) for document, version in rows]


async def card_document(session: AsyncSession, card_id: uuid.UUID, kind: str) -> CardDocumentVersionOut:
    """The newest version of the card's document ``kind``, with its content."""
    if await session.get(Card, card_id) is None:
        raise NotFound(f"No card with id {card_id}.")
    document = await repository.card_document(session, card_id, kind)
    version = await repository.version(session, document.id, document.latest_version) if document else None
    if document is None or version is None:
        raise NotFound(f"This card has no {kind!r} document yet.")
    return CardDocumentVersionOut.model_validate({**_card_document(document, version), "content": version.content})
