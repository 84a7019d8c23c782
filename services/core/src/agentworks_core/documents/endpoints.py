"""Document endpoints: a project's documents (latest version, history, writes that append a version), a card's
documents as people read them, and the same for the orchestrator's document tools."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_internal_api.core import CardDocumentOut, CardDocumentsOut, CardDocumentVersionOut
from agentworks_platform.app import SessionDep, allow_callers
from agentworks_platform.bounds import INTEGER_MAX
from agentworks_platform.db import set_tenant
from agentworks_platform.errors import error_responses
from agentworks_platform.pagination import Page
from fastapi import APIRouter, Depends, Path, Query

from agentworks_core.access import PrincipalDep, authorize_resource, workspace_of
from agentworks_core.documents import service
from agentworks_core.documents.schemas import DocumentOut, DocumentWrite, VersionMeta, VersionOut
from agentworks_core.schemas import MAX_PAGE
from agentworks_core.state import DocumentStoreDep

router = APIRouter(prefix="/api/projects/{project_id}/documents", tags=["documents"], responses=error_responses(404))
of_cards = APIRouter(prefix="/api/cards/{card_id}/documents", tags=["documents"], responses=error_responses(404))
internal = APIRouter(
    prefix="/internal/cards/{card_id}/documents",
    tags=["internal"],
    dependencies=[Depends(allow_callers("orchestrator"))],
    responses=error_responses(404),
)


Kind = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


@router.get("", summary="Every document of the project, newest first: its own and its cards'")
async def list_documents(
    project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, store: DocumentStoreDep
) -> list[DocumentOut]:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.list_documents(session, store, project_id)


@router.get("/{kind}", summary="The latest version of a document")
async def latest(
    project_id: uuid.UUID, kind: Kind, session: SessionDep, principal: PrincipalDep, store: DocumentStoreDep
) -> VersionOut:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.latest(session, store, project_id, kind)


@router.put("/{kind}", summary="Write a new version of a document")
async def write(
    project_id: uuid.UUID,
    kind: Kind,
    body: DocumentWrite,
    session: SessionDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
) -> DocumentOut:
    access = await authorize_resource(session, principal, "project", project_id, "write")
    return await service.write(session, store, access, project_id, kind, body)


@router.get("/{kind}/versions", summary="Version history, newest first")
async def history(
    project_id: uuid.UUID,
    kind: Kind,
    session: SessionDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[VersionMeta]:
    await authorize_resource(session, principal, "project", project_id, "read")
    items, next_cursor = await service.history(session, store, project_id, kind, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{kind}/versions/{version}")
async def version(
    project_id: uuid.UUID,
    kind: Kind,
    version: Annotated[int, Path(ge=1, le=INTEGER_MAX)],
    session: SessionDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
) -> VersionOut:
    await authorize_resource(session, principal, "project", project_id, "read")
    return await service.version(session, store, project_id, kind, version)


@of_cards.get("", summary="A card's documents, newest version each, with who wrote it")
async def card_documents(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[CardDocumentOut]:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.card_documents(session, card_id)


@of_cards.get("/{name}", summary="The newest version of a card's document")
async def card_document(
    card_id: uuid.UUID, name: Kind, session: SessionDep, principal: PrincipalDep
) -> CardDocumentVersionOut:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.card_document(session, card_id, name)


@of_cards.get("/{name}/versions", summary="A card's document's version history, newest first")
async def card_history(
    card_id: uuid.UUID,
    name: Kind,
    session: SessionDep,
    principal: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[VersionMeta]:
    await authorize_resource(session, principal, "card", card_id, "read")
    items, next_cursor = await service.card_history(session, card_id, name, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@of_cards.get("/{name}/versions/{version}", summary="One version of a card's document, with who wrote it")
async def card_version(
    card_id: uuid.UUID,
    name: Kind,
    version: Annotated[int, Path(ge=1, le=INTEGER_MAX)],
    session: SessionDep,
    principal: PrincipalDep,
) -> VersionOut:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.card_version(session, card_id, name, version)


@internal.get("", summary="A card's documents for an agent run: newest version each, without content")
async def run_card_documents(card_id: uuid.UUID, session: SessionDep) -> CardDocumentsOut:
    await set_tenant(session, workspace_id=await workspace_of(session, "card", card_id))
    return CardDocumentsOut(await service.card_documents(session, card_id))


@internal.get("/{name}", summary="The newest version of a card's document, with content, for an agent run")
async def run_card_document(card_id: uuid.UUID, name: Kind, session: SessionDep) -> CardDocumentVersionOut:
    await set_tenant(session, workspace_id=await workspace_of(session, "card", card_id))
    return await service.card_document(session, card_id, name)
