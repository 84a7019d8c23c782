"""The production repository host: Secure Source Manager. Repositories are made through its REST API (a
long-running operation) and reached over HTTPS git with the service account's OAuth access token."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import google.auth
import google.auth.transport.requests
import httpx

from agentworks_repos.embedded import DEFAULT_BRANCH
from agentworks_repos.remote import GitRemote

API = "https://securesourcemanager.googleapis.com/v1"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
OPERATION_POLLS = 60
TokenSource = Callable[[], Awaitable[str]]


class RepositoryHostError(RuntimeError):
    """The host refused or failed a request (its status and message), or a repository it should have is missing."""


def repository_id(project_id: uuid.UUID) -> str:
    """The repository's id on the instance: ids start with a letter, so a project's carries a prefix."""
    return f"p-{uuid.UUID(str(project_id))}"


def google_token_source() -> TokenSource:
    """Access tokens of the environment's credentials (the Cloud Run service account), refreshed when stale."""
    credentials, _ = google.auth.default(scopes=SCOPES)
    lock = asyncio.Lock()

    async def token() -> str:
        async with lock:
            if not credentials.valid:
                request = google.auth.transport.requests.Request()
                await asyncio.to_thread(credentials.refresh, request)
            return str(credentials.token)

    return token


class SecureSourceManagerHost:
    """One Secure Source Manager instance; a project's repository is ``p-<project id>`` in ``location``."""

    kind = "ssm"

    def __init__(
        self,
        project: str,
        location: str,
        instance: str,
        *,
        token: TokenSource | None = None,
        http: httpx.AsyncClient | None = None,
        api: str = API,
        poll_seconds: float = 1.0,
    ) -> None:
        self._parent = f"projects/{project}/locations/{location}"
        self._instance = f"{self._parent}/instances/{instance}"
        self._token = token or google_token_source()
        self._http = http or httpx.AsyncClient(timeout=30)
        self._api = api.rstrip("/")
        self._poll_seconds = poll_seconds
        self._urls: dict[uuid.UUID, str] = {}
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self._token()}"}
        return await self._http.request(method, f"{self._api}/{path}", headers=headers, **kwargs)

    async def _remote(self, url: str) -> GitRemote:
        return GitRemote(url, f"Authorization: Bearer {await self._token()}")

    async def _git_url(self, project_id: uuid.UUID) -> str | None:
        if project_id in self._urls:
            return self._urls[project_id]
        response = await self._call("GET", f"{self._parent}/repositories/{repository_id(project_id)}")
        if response.status_code == 404:
            return None
        _raise_for(response, "read the repository")
        url = str(response.json()["uris"]["gitHttps"])
        self._urls[project_id] = url
        return url

    async def remote(self, project_id: uuid.UUID) -> GitRemote:
        url = await self._git_url(project_id)
        if url is None:
            raise RepositoryHostError(f"project {project_id} has no repository yet")
        return await self._remote(url)

    async def ensure(self, project_id: uuid.UUID) -> GitRemote:
        url = await self._git_url(project_id)
        if url is None:
            async with self._lock:
                url = await self._git_url(project_id) or await self._create(project_id)
        return await self._remote(url)

    async def delete(self, project_id: uuid.UUID) -> None:
        """Delete the project's repository (a long-running operation, followed to its end); one already gone is
        not an error, so a repeated call is harmless."""
        self._urls.pop(project_id, None)
        response = await self._call("DELETE", f"{self._parent}/repositories/{repository_id(project_id)}")
        if response.status_code == 404:
            return
        _raise_for(response, "delete the repository")
        await self._wait(response.json(), "deleting")

    async def _create(self, project_id: uuid.UUID) -> str:
        body = {"instance": self._instance, "initialConfig": {"defaultBranch": DEFAULT_BRANCH, "readme": "default"}}
        response = await self._call(
            "POST", f"{self._parent}/repositories", params={"repository_id": repository_id(project_id)}, json=body
        )
        if response.status_code != 409:  # made meanwhile by another instance: read it below
            _raise_for(response, "create the repository")
            await self._wait(response.json(), "creating")
        url = await self._git_url(project_id)
        if url is None:
            raise RepositoryHostError(f"the repository of project {project_id} is missing after its creation")
        return url

    async def _wait(self, operation: dict[str, Any], doing: str) -> None:
        for _ in range(OPERATION_POLLS):
            if operation.get("done"):
                if "error" in operation:
                    raise RepositoryHostError(f"{doing} a repository failed: {operation['error'].get('message')}")
                return
            await asyncio.sleep(self._poll_seconds)
            response = await self._call("GET", operation["name"])
            _raise_for(response, f"follow the operation {doing} a repository")
            operation = response.json()
        raise RepositoryHostError(f"{doing} a repository did not finish in time")


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    raise RepositoryHostError(f"Secure Source Manager could not {what}: {response.status_code} {message}")
