"""The production documents adapter on google-cloud-firestore (async client, transactional appends)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.async_transaction import AsyncTransaction, async_transactional

from agentworks_documents.port import DocumentHead, NewVersion, StoredVersion


def _aware(value: Any) -> datetime:
    moment: datetime = value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


class FirestoreDocumentStore:
    """``workspaces/{w}/projects/{p}/docs/{kind}`` holds the head; ``…/versions/{n:08d}`` each version."""

    def __init__(self, client: firestore.AsyncClient) -> None:
        self._client = client

    def _docs(self, workspace_id: uuid.UUID, project_id: uuid.UUID) -> Any:
        return (
            self._client.collection("workspaces")
            .document(str(workspace_id))
            .collection("projects")
            .document(str(project_id))
            .collection("docs")
        )

    async def append(self, new: NewVersion) -> DocumentHead:
        head_ref = self._docs(new.workspace_id, new.project_id).document(new.kind)

        written_by_run = head_ref.collection("runs").document(str(new.source_run_id)) if new.once_per_run else None

        @async_transactional
        async def write(transaction: AsyncTransaction) -> dict[str, Any]:
            snapshot = await head_ref.get(transaction=transaction)
            current: dict[str, Any] | None = snapshot.to_dict() if snapshot.exists else None
            if written_by_run is not None:
                if current is not None and (await written_by_run.get(transaction=transaction)).exists:
                    return current
                transaction.set(written_by_run, {"run_id": str(new.source_run_id)})
            head = {
                "id": current["id"] if current else str(uuid.uuid4()),
                "project_id": str(new.project_id),
                "kind": new.kind,
                "title": new.title,
                "latest_version": (current["latest_version"] if current else 0) + 1,
                "updated_at": new.created_at,
            }
            transaction.set(head_ref, head)
            transaction.create(
                head_ref.collection("versions").document(f"{head['latest_version']:08d}"),
                {
                    "version": head["latest_version"],
                    "title": new.title,
                    "content": new.content,
                    "content_type": new.content_type,
                    "author_id": str(new.author_id or ""),
                    "source_run_id": str(new.source_run_id or ""),
                    "agent": new.agent or "",
                    "created_at": new.created_at,
                },
            )
            return head

        return self._head(await write(self._client.transaction()))

    @staticmethod
    def _head(data: dict[str, Any]) -> DocumentHead:
        return DocumentHead(
            id=uuid.UUID(data["id"]),
            project_id=uuid.UUID(data["project_id"]),
            kind=data["kind"],
            title=data["title"],
            latest_version=int(data["latest_version"]),
            updated_at=_aware(data["updated_at"]),
        )

    @staticmethod
    def _version(data: dict[str, Any]) -> StoredVersion:
        return StoredVersion(
            version=int(data["version"]),
            title=data["title"],
            content=data["content"],
            content_type=data["content_type"],
            author_id=_uuid(data.get("author_id")),
            source_run_id=_uuid(data.get("source_run_id")),
            created_at=_aware(data["created_at"]),
            agent=data.get("agent") or None,
        )

    async def heads(self, workspace_id: uuid.UUID, project_id: uuid.UUID) -> list[DocumentHead]:
        query = self._docs(workspace_id, project_id).order_by("kind")
        return [self._head(snapshot.to_dict()) async for snapshot in query.stream()]

    async def head(self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str) -> DocumentHead | None:
        snapshot = await self._docs(workspace_id, project_id).document(kind).get()
        return self._head(snapshot.to_dict()) if snapshot.exists else None

    async def version(
        self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str, number: int
    ) -> StoredVersion | None:
        ref = self._docs(workspace_id, project_id).document(kind).collection("versions").document(f"{number:08d}")
        snapshot = await ref.get()
        return self._version(snapshot.to_dict()) if snapshot.exists else None

    async def versions(
        self, workspace_id: uuid.UUID, project_id: uuid.UUID, kind: str, before: int | None, limit: int
    ) -> list[StoredVersion]:
        query = self._docs(workspace_id, project_id).document(kind).collection("versions")
        if before is not None:
            query = query.where(filter=firestore.FieldFilter("version", "<", before))
        query = query.order_by("version", direction=firestore.Query.DESCENDING).limit(limit + 1)
        return [self._version(snapshot.to_dict()) async for snapshot in query.stream()]
