"""Both blob adapters; Cloud Storage with the real google-cloud-storage client against gcp-storage-emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agentworks_blobs import BlobStore, GcsBlobs, LocalBlobs
from agentworks_localstack.threads import free_port
from gcp_storage_emulator.server import create_server
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage


@pytest.fixture
def gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[GcsBlobs]:
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    client = storage.Client(project="agentworks-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    client.create_bucket("agentworks-logs-test")
    yield GcsBlobs("agentworks-logs-test", client)
    server.stop()


@pytest.fixture(params=["local", "gcs"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobs(tmp_path / "blobs")
    store: BlobStore = request.getfixturevalue("gcs")
    return store


async def test_written_archives_are_read_back_and_listed(blobs: BlobStore) -> None:
    uri = await blobs.put("workspaces/w1/projects/p1/runs/r1.ndjson.gz", b"\x1f\x8bdata", "application/gzip")
    await blobs.put("workspaces/w1/projects/p1/runs/r2.ndjson.gz", b"more", "application/gzip")
    await blobs.put("workspaces/w2/projects/p9/runs/r3.ndjson.gz", b"other", "application/gzip")
    assert uri.endswith("workspaces/w1/projects/p1/runs/r1.ndjson.gz")
    assert uri.startswith(("file://", "gs://agentworks-logs-test/"))
    assert await blobs.get("workspaces/w1/projects/p1/runs/r1.ndjson.gz") == b"\x1f\x8bdata"
    assert await blobs.get("workspaces/w1/projects/p1/runs/missing.ndjson.gz") is None
    assert await blobs.list("workspaces/w1/") == [
        "workspaces/w1/projects/p1/runs/r1.ndjson.gz",
        "workspaces/w1/projects/p1/runs/r2.ndjson.gz",
    ]


async def test_paths_cannot_escape(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a valid blob path"):
        await LocalBlobs(tmp_path).put("../outside", b"x", "text/plain")


async def test_a_deleted_object_is_gone_and_deleting_it_again_is_harmless(blobs: BlobStore) -> None:
    await blobs.put("attachments/w1/c1/a1", b"report", "text/plain")
    await blobs.put("attachments/w1/c1/a2", b"kept", "text/plain")
    await blobs.delete("attachments/w1/c1/a1")
    await blobs.delete("attachments/w1/c1/a1")
    assert await blobs.get("attachments/w1/c1/a1") is None
    assert await blobs.list("attachments/") == ["attachments/w1/c1/a2"]
