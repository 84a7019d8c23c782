"""The blobs port (log archives, attachments, exports, images): ``LocalBlobs`` in dev, ``GcsBlobs`` in production."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from google.api_core.exceptions import NotFound
from google.cloud import storage  # type: ignore[attr-defined]


class BlobStore(Protocol):
    """Objects by path; ``uri`` names where one lives (``file://…`` or ``gs://bucket/…``)."""

    async def put(self, path: str, data: bytes, content_type: str) -> str: ...

    async def get(self, path: str) -> bytes | None: ...

    async def list(self, prefix: str) -> list[str]: ...

    async def delete(self, path: str) -> None:
        """Remove the object; nothing happens when there is none."""
        ...


def _safe(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"not a valid blob path: {path!r}")
    return "/".join(parts)


class LocalBlobs:
    """A directory; writes are atomic (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, path: str, data: bytes, content_type: str) -> str:  # noqa: ARG002 - files carry no type
        target = self.root / _safe(path)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(target.name + ".tmp")
            temporary.write_bytes(data)
            temporary.replace(target)

        await asyncio.to_thread(write)
        return target.resolve().as_uri()

    async def get(self, path: str) -> bytes | None:
        target = self.root / _safe(path)
        return await asyncio.to_thread(lambda: target.read_bytes() if target.is_file() else None)

    async def list(self, prefix: str) -> list[str]:
        base = self.root

        def walk() -> list[str]:
            if not base.exists():
                return []
            names = (p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
            return sorted(n for n in names if n.startswith(prefix) and not n.endswith(".tmp"))

        return await asyncio.to_thread(walk)

    async def delete(self, path: str) -> None:
        target = self.root / _safe(path)
        await asyncio.to_thread(lambda: target.unlink(missing_ok=True))


class GcsBlobs:
    """One Cloud Storage bucket through google-cloud-storage (its blocking calls run on a thread)."""

    def __init__(self, bucket: str, client: storage.Client | None = None) -> None:
        self._client = client or storage.Client()
        self._bucket = self._client.bucket(bucket)
        self.bucket = bucket

    async def put(self, path: str, data: bytes, content_type: str) -> str:
        blob = self._bucket.blob(_safe(path))
        await asyncio.to_thread(blob.upload_from_string, data, content_type=content_type)
        return f"gs://{self.bucket}/{blob.name}"

    async def get(self, path: str) -> bytes | None:
        blob = self._bucket.blob(_safe(path))
        try:
            data: bytes = await asyncio.to_thread(blob.download_as_bytes)
        except NotFound:
            return None
        return data

    async def list(self, prefix: str) -> list[str]:
        def names() -> list[str]:
            return sorted(b.name for b in self._client.list_blobs(self.bucket, prefix=prefix))

        return await asyncio.to_thread(names)

    async def delete(self, path: str) -> None:
        blob = self._bucket.blob(_safe(path))
        try:
            await asyncio.to_thread(blob.delete)
        except NotFound:
            return
