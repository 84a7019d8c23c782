"""The secrets port: ``EnvSecrets`` (environment and ``.env``, written secrets in a directory) locally,
``SecretManagerSecrets`` in production."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Protocol

from google.api_core.exceptions import AlreadyExists, NotFound, PermissionDenied
from google.cloud import secretmanager


class SecretSource(Protocol):
    async def get(self, name: str) -> str | None:
        """The secret's current value, or None when it is not configured."""
        ...

    async def put(self, name: str, value: str) -> None:
        """Store a new value of the secret (made on first use); the next ``get`` answers it."""
        ...

    async def delete(self, name: str) -> None:
        """Remove the secret and every value it had (a secret that is not there is already deleted)."""
        ...


# Secret Manager's rule for a secret's id, kept by every adapter (it also keeps a name a plain file name).
SECRET_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def checked_name(name: str) -> str:
    if not SECRET_NAME.fullmatch(name):
        raise ValueError(f"A secret's name is 1-255 letters, digits, '-' or '_', not {name!r}.")
    return name


class EnvSecrets:
    """Secrets from the environment (``OPENAI_API_KEY`` for ``openai-api-key``) or a ``.env`` file; a secret
    written with ``put`` is a file of its own in ``store`` (owner-only), read before the environment."""

    def __init__(self, env_file: Path | None = Path(".env"), store: Path | None = None) -> None:
        self._store = store
        self._file: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            for line in env_file.read_text().splitlines():
                key, sep, value = line.strip().partition("=")
                if sep and not key.startswith("#"):
                    self._file[key.strip()] = value.strip().strip("'\"")

    async def get(self, name: str) -> str | None:
        if self._store is not None and SECRET_NAME.fullmatch(name) and (self._store / name).is_file():
            return (self._store / name).read_text()
        variable = name.upper().replace("-", "_")
        return os.environ.get(variable) or self._file.get(variable) or None

    async def put(self, name: str, value: str) -> None:
        if self._store is None:
            raise RuntimeError("These secrets are read-only: no directory to write them to was given.")
        path = self._store / checked_name(name)
        self._store.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written aside and renamed over, so a reader never sees half a value.
        with tempfile.NamedTemporaryFile("w", dir=self._store, delete=False) as handle:
            handle.write(value)
        os.chmod(handle.name, 0o600)
        os.replace(handle.name, path)

    async def delete(self, name: str) -> None:
        if self._store is None:
            raise RuntimeError("These secrets are read-only: no directory to delete them from was given.")
        (self._store / checked_name(name)).unlink(missing_ok=True)


class SecretManagerSecrets:
    """Secret Manager's ``latest`` version of each secret, cached for ``ttl`` seconds."""

    def __init__(
        self, project: str, client: secretmanager.SecretManagerServiceAsyncClient | None = None, ttl: float = 300.0
    ) -> None:
        self._project = project
        self._client = client
        self._ttl = ttl
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = asyncio.Lock()

    async def get(self, name: str) -> str | None:
        cached = self._cache.get(name)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        async with self._lock:
            client = self._client or secretmanager.SecretManagerServiceAsyncClient()
            self._client = client
            path = f"projects/{self._project}/secrets/{name}/versions/latest"
            try:
                response = await client.access_secret_version(request={"name": path})
                value: str | None = response.payload.data.decode()
            except (NotFound, PermissionDenied):
                value = None
            self._cache[name] = (value, time.monotonic() + self._ttl)
            return value

    async def put(self, name: str, value: str) -> None:
        """``secrets.create`` (automatic replication) the first time, then ``secrets.addVersion``."""
        checked_name(name)
        async with self._lock:
            client = self._client or secretmanager.SecretManagerServiceAsyncClient()
            self._client = client
            parent = f"projects/{self._project}"
            with contextlib.suppress(AlreadyExists):  # made by an earlier put
                await client.create_secret(
                    request={"parent": parent, "secret_id": name, "secret": {"replication": {"automatic": {}}}}
                )
            await client.add_secret_version(
                request={"parent": f"{parent}/secrets/{name}", "payload": {"data": value.encode()}}
            )
            self._cache[name] = (value, time.monotonic() + self._ttl)

    async def delete(self, name: str) -> None:
        """``secrets.delete``: the secret and all its versions."""
        checked_name(name)
        async with self._lock:
            client = self._client or secretmanager.SecretManagerServiceAsyncClient()
            self._client = client
            with contextlib.suppress(NotFound):  # deleted by an earlier call
                await client.delete_secret(request={"name": f"projects/{self._project}/secrets/{name}"})
            self._cache.pop(name, None)
