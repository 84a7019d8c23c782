"""What core holds for its lifetime, and the dependencies its endpoints read it through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from agentworks_documents.port import DocumentStore
from agentworks_platform.app import SessionDep, context_of, state_of
from agentworks_pubsub import Outbox
from fastapi import Depends
from starlette.requests import HTTPConnection

from agentworks_core.agents.catalog import ModelCatalog
from agentworks_core.cards.image_files import ImageFiles
from agentworks_core.documents.sql_store import SqlDocumentStore
from agentworks_core.projects.board_cache import BoardCache


@dataclass(frozen=True, slots=True)
class CoreState:
    """Core's outbox, board cache, the provider router's model catalog and generated images, and the Firestore
    document store (None when documents live in core's own database)."""

    outbox: Outbox
    board_cache: BoardCache
    models: ModelCatalog
    firestore_documents: DocumentStore | None
    image_files: ImageFiles


def core_state(connection: HTTPConnection) -> CoreState:
    return state_of(context_of(connection), CoreState)


def _outbox(connection: HTTPConnection) -> Outbox:
    return core_state(connection).outbox


def _board_cache(connection: HTTPConnection) -> BoardCache:
    return core_state(connection).board_cache


def _models(connection: HTTPConnection) -> ModelCatalog:
    return core_state(connection).models


def _image_files(connection: HTTPConnection) -> ImageFiles:
    return core_state(connection).image_files


def _documents(connection: HTTPConnection, session: SessionDep) -> DocumentStore:
    """Firestore in production; otherwise core's own database, in the request's transaction."""
    return core_state(connection).firestore_documents or SqlDocumentStore(session)


OutboxDep = Annotated[Outbox, Depends(_outbox)]
BoardCacheDep = Annotated[BoardCache, Depends(_board_cache)]
ModelCatalogDep = Annotated[ModelCatalog, Depends(_models)]
DocumentStoreDep = Annotated[DocumentStore, Depends(_documents)]
ImageFilesDep = Annotated[ImageFiles, Depends(_image_files)]
