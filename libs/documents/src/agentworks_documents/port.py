"""The documents port: project documents with an append-only version history.

Core uses it through ``DocumentStore``; the embedded adapter keeps documents in core's SQL database,
the production adapter (``FirestoreDocumentStore``) in Firestore under
``workspaces/{workspace}/projects/{project}/docs/{kind}/versions/{n}``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DocumentHead:
    """A document's identity and its newest version number."""

    id: uuid.UUID
    project_id: uuid.UUID
    kind: str
    title: str
    latest_version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What a write supplies; the store assigns the next version number."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID
    kind: str
    title: str
    content: str
    content_type: str
    author_id: uuid.UUID | None
    source_run_id: uuid.UUID | None
    created_at: datetime
    agent: str | None = None
    once_per_run: bool = False
    """Append only if ``source_run_id`` has not written a version of this document yet: a run's completion may be
    delivered again after a store outside core's database took its write, and must not add a second version."""


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version as written: by a person (``author_id``) or by an agent's run (``agent``, ``source_run_id``)."""

    version: int
    title: str
    content: str
    content_type: str
    author_id: uuid.UUID | None
    source_run_id: uuid.UUID | None
    created_at: datetime
    agent: str | None = None


class DocumentStore(Protocol):
    """Versioned documents of one workspace's projects. Writes never overwrite a version."""

    async def append(self, new: NewVersion) -> DocumentHead: ...

    async def heads(self, workspace_id: uuid.UUID, project_id: uuid.UUID) -> list[DocumentHead]: ...

    async def head(self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str) -> DocumentHead | None: ...

    async def version(
        self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str, number: int
    ) -> StoredVersion | None: ...

    async def versions(
        self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str, before: int | None, limit: int
    ) -> list[StoredVersion]:
        """Newest first, strictly below ``before`` when given, at most ``limit`` (+1 to detect more)."""
        ...
