"""The secrets port: ``EnvSecrets`` (environment and ``.env``) locally, ``SecretManagerSecrets`` in production."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Protocol

from google.api_core.exceptions import NotFound, PermissionDenied
from google.cloud import secretmanager


class SecretSource(Protocol):
    async def get(self, name: str) -> str | None:
        """The secret's current value, or None when it is not configured."""
        ...


class EnvSecrets:
    """Secrets from the environment (``OPENAI_API_KEY`` for ``openai-api-key``) or a ``.env`` file."""

    def __init__(self, env_file: Path | None = Path(".env")) -> None:
        self._file: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            for line in env_file.read_text().splitlines():
                key, sep, value = line.strip().partition("=")
                if sep and not key.startswith("#"):
                    self._file[key.strip()] = value.strip().strip("'\"")

    async def get(self, name: str) -> str | None:
        variable = name.upper().replace("-", "_")
        return os.environ.get(variable) or self._file.get(variable) or None


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
