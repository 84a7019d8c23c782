"""AgentWorks core.

The system of record: workspaces, members, projects, boards, lanes, cards, agents, runs and documents.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from agentworks_blobs import BlobStore, GcsBlobs, LocalBlobs
from agentworks_documents.firestore import FirestoreDocumentStore
from agentworks_documents.port import DocumentStore
from agentworks_platform.app import ServiceContext, create_service_app
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import Outbox, PushReceiver, load_topology
from agentworks_pubsub.publisher import MessageSink
from agentworks_pubsub.wiring import start_outbox
from fastapi import FastAPI
from google.cloud import firestore
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core import models
from agentworks_core.activity import endpoints as activity
from agentworks_core.agents import endpoints as agents
from agentworks_core.agents.catalog import ModelCatalog
from agentworks_core.attachments import endpoints as attachments
from agentworks_core.audit import endpoints as audit
from agentworks_core.cards import endpoints as cards
from agentworks_core.cards.image_files import ImageFiles
from agentworks_core.comments import endpoints as comments
from agentworks_core.config import CoreSettings
from agentworks_core.documents import endpoints as documents
from agentworks_core.documents.sql_store import SqlDocumentStore
from agentworks_core.labels import endpoints as labels
from agentworks_core.notifications import endpoints as notifications
from agentworks_core.projects import endpoints as projects
from agentworks_core.projects.board_cache import BoardCache
from agentworks_core.runs import endpoints as runs
from agentworks_core.runs.handlers import handlers as run_handlers
from agentworks_core.state import CoreState
from agentworks_core.workspaces import endpoints as workspaces

ROUTERS = (
    workspaces.router,
    workspaces.accepting,
    workspaces.internal,
    projects.router,
    cards.router,
    labels.router,
    activity.router,
    attachments.router,
    comments.router,
    notifications.router,
    agents.router,
    documents.router,
    documents.of_cards,
    documents.internal,
    audit.router,
    audit.internal,
    runs.router,
    runs.internal,
)


def _firestore(settings: CoreSettings, stack: AsyncExitStack) -> DocumentStore | None:
    """Firestore's document store when documents live there (production), else None."""
    if settings.documents_backend != "firestore":
        return None
    client = firestore.AsyncClient(project=settings.gcp_project, database=settings.firestore_database)
    stack.callback(client.close)
    return FirestoreDocumentStore(client)


def _blobs(settings: CoreSettings) -> BlobStore:
    """Where attachments are kept: Cloud Storage in production, a local directory otherwise."""
    if settings.blobs_backend == "gcs":
        return GcsBlobs(settings.attachments_bucket)
    return LocalBlobs(settings.blobs_dir)


def create_app(
    settings: CoreSettings | None = None,
    *,
    sink: MessageSink | None = None,
    models_client: InternalClient | None = None,
) -> FastAPI:
    """Build the core service (uvicorn ``--factory`` entry point); tests may pass the event sink and router client."""
    settings = settings or CoreSettings()
    outbox = Outbox(models.outbox)
    firestore_documents: DocumentStore | None = None

    def project_documents(session: AsyncSession) -> DocumentStore:
        """Where a run's project documents go: the store the documents page reads."""
        return firestore_documents or SqlDocumentStore(session)

    receiver = PushReceiver(
        load_topology(), settings.service_name, models.inbox, run_handlers(outbox, project_documents)
    )

    async def setup(_app: FastAPI, ctx: ServiceContext, stack: AsyncExitStack) -> None:
        nonlocal firestore_documents
        await start_outbox(ctx, stack, models.outbox, sink, outbox=outbox)
        client = models_client or InternalClient(settings.provider_router_url, ctx.tokens)
        stack.push_async_callback(client.aclose)
        firestore_documents = _firestore(settings, stack)
        ctx.state = CoreState(
            outbox,
            BoardCache(settings.board_cache_bytes),
            ModelCatalog(client),
            firestore_documents,
            ImageFiles(client),
            _blobs(settings),
            settings.attachment_max_bytes,
        )

    return create_service_app(
        settings, title="AgentWorks core", description=__doc__ or "", routers=[*ROUTERS, receiver.router()], setup=setup
    )
