"""What core holds for its lifetime, and the dependencies its endpoints read it through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from agentworks_blobs import BlobStore
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
    """Core's outbox, board cache, the provider router's model catalog and generated images, the Firestore
    document store (None when documents live in core's own database), and the blobs port attachments are kept in
    with the largest it takes."""

    outbox: Outbox
    board_cache: BoardCache
    models: ModelCatalog
    firestore_documents: DocumentStore | None
    image_files: ImageFiles
    blobs: BlobStore
    attachment_max_bytes: int


def core_state(connection: HTTPConnection) -> CoreState:
    return state_of(context_of(connection), CoreState)


# The dependencies below are coroutines although they only read the state: FastAPI runs a plain function
# dependency on a worker thread, a hand-over to another thread and back on every request that uses one.


async def _outbox(connection: HTTPConnection) -> Outbox:
    return core_state(connection).outbox


async def _board_cache(connection: HTTPConnection) -> BoardCache:
    return core_state(connection).board_cache


async def _models(connection: HTTPConnection) -> ModelCatalog:
    return core_state(connection).models


async def _image_files(connection: HTTPConnection) -> ImageFiles:
    return core_state(connection).image_files


async def _blobs(connection: HTTPConnection) -> BlobStore:
    return core_state(connection).blobs


async def _attachment_limit(connection: HTTPConnection) -> int:
    return core_state(connection).attachment_max_bytes


async def _documents(connection: HTTPConnection, session: SessionDep) -> DocumentStore:
    """Firestore in production; otherwise core's own database, in the request's transaction."""
    return core_state(connection).firestore_documents or SqlDocumentStore(session)


OutboxDep = Annotated[Outbox, Depends(_outbox)]
BoardCacheDep = Annotated[BoardCache, Depends(_board_cache)]
ModelCatalogDep = Annotated[ModelCatalog, Depends(_models)]
DocumentStoreDep = Annotated[DocumentStore, Depends(_documents)]
ImageFilesDep = Annotated[ImageFiles, Depends(_image_files)]
BlobStoreDep = Annotated[BlobStore, Depends(_blobs)]
AttachmentLimitDep = Annotated[int, Depends(_attachment_limit)]
