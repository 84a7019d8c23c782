"""The Firestore adapter with the real google-cloud-firestore client against the wire-level stand-in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from agentworks_documents.firestore import FirestoreDocumentStore
from agentworks_documents.port import NewVersion
from agentworks_localstack.firestore_fake import FirestoreFake, serve_firestore
from google.cloud import firestore


@pytest.fixture
async def store(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FirestoreDocumentStore, FirestoreFake]]:
    server, fake, port = await serve_firestore()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{port}")
    client = firestore.AsyncClient(project="agentworks-test")
    yield FirestoreDocumentStore(client), fake
    client.close()
    await server.stop(grace=None)


def _new(workspace: uuid.UUID, project: uuid.UUID, kind: str, content: str) -> NewVersion:
    return NewVersion(
        workspace_id=workspace,
        project_id=project,
        kind=kind,
        title=kind.upper(),
        content=content,
        content_type="text/markdown",
        author_id=uuid.uuid4(),
        source_run_id=None,
        created_at=datetime.now(UTC),
    )


async def test_versions_are_appended_and_read_back(store: tuple[FirestoreDocumentStore, FirestoreFake]) -> None:
    documents, fake = store
    workspace, project = uuid.uuid4(), uuid.uuid4()
    heads = [await documents.append(_new(workspace, project, "prd", f"v{n}")) for n in range(1, 6)]
    assert [h.latest_version for h in heads] == [1, 2, 3, 4, 5]
    assert len({h.id for h in heads}) == 1
    await documents.append(_new(workspace, project, "blueprint", "b1"))
    assert [h.kind for h in await documents.heads(workspace, project)] == ["blueprint", "prd"]
    head = await documents.head(workspace, project, "prd")
    assert head is not None
    assert head.latest_version == 5
    third = await documents.version(workspace, project, "prd", 3)
    assert third is not None
    assert third.content == "v3"
    assert await documents.version(workspace, project, "prd", 9) is None
    page = await documents.versions(workspace, project, "prd", None, 2)
    assert [v.version for v in page] == [5, 4, 3]
    older = await documents.versions(workspace, project, "prd", 3, 2)
    assert [v.version for v in older] == [2, 1]
    assert any(
        name.endswith(f"workspaces/{workspace}/projects/{project}/docs/prd/versions/00000003")
        for name in fake.documents
    )


async def test_projects_and_workspaces_are_kept_apart(store: tuple[FirestoreDocumentStore, FirestoreFake]) -> None:
    documents, _ = store
    first, second = (uuid.uuid4(), uuid.uuid4()), (uuid.uuid4(), uuid.uuid4())
    await documents.append(_new(*first, "prd", "mine"))
    assert await documents.heads(*second) == []
    assert await documents.head(*second, "prd") is None


async def test_a_runs_version_is_appended_once_however_often_its_completion_arrives(
    store: tuple[FirestoreDocumentStore, FirestoreFake],
) -> None:
    documents, _fake = store
    workspace, project, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    by_run = replace(_new(workspace, project, "prd", "from the run"), source_run_id=run, once_per_run=True)
    first = await documents.append(by_run)
    again = await documents.append(by_run)
    assert (first.latest_version, again.latest_version) == (1, 1)
    later = await documents.append(replace(by_run, source_run_id=uuid.uuid4(), content="another run"))
    assert later.latest_version == 2
    assert [v.content for v in await documents.versions(workspace, project, "prd", None, 5)] == [
        "another run",
        "from the run",
    ]
