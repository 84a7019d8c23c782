"""The production sandbox: each command is one execution of a Cloud Run job (gVisor, no egress).

The working copy travels through the blobs port (see ``agentworks_sandbox.job``); the command, its limits and the
run's id are the execution's container overrides (Cloud Run Admin API v2 ``jobs.run``). The adapter follows the
returned long-running operation until the execution is done, then reads the result the job wrote, and, when the
command changed the working copy, replaces the local copy with the one the job sent back, all but its ``.git``
(the host runs git there: nothing the command wrote in the repository's metadata is taken back).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from agentworks_blobs import BlobStore

from agentworks_sandbox.archive import pack, replace_contents
from agentworks_sandbox.job import DEFAULT_PREFIX, LIMITS_ENV, RUN_ENV, JobPaths, limits_to_json, result_from_json
from agentworks_sandbox.port import GIT_DIR, Command, CommandResult, SandboxLimits, argv_of, checked_workdir

RUN_API = "https://run.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Beyond the command's own time limit: pulling the image, moving the working copy both ways.
STARTUP_MARGIN_SECONDS = 300

TokenSource = Callable[[], Awaitable[str]]


class SandboxFailure(RuntimeError):
    """The sandbox could not run the command to a result (the API refused, or the execution died)."""


class GoogleAccessTokens:
    """OAuth access tokens of the service's own credentials (google-auth's application default, found on first
    use so that building the sandbox needs none)."""

    def __init__(self) -> None:
        self._credentials: Any = None

    async def __call__(self) -> str:
        import google.auth
        import google.auth.transport.requests

        if self._credentials is None:
            self._credentials, _ = await asyncio.to_thread(google.auth.default, scopes=[SCOPE])
        if not self._credentials.valid:
            await asyncio.to_thread(self._credentials.refresh, google.auth.transport.requests.Request())
        token = self._credentials.token
        if not isinstance(token, str):
            raise SandboxFailure("the service's credentials gave no access token")
        return token


class CloudRunJobSandbox:
    """Runs each command as an execution of one Cloud Run job, the sandbox image's."""

    def __init__(
        self,
        *,
        project: str,
        location: str,
        job: str,
        blobs: BlobStore,
        http: httpx.AsyncClient,
        tokens: TokenSource,
        prefix: str = DEFAULT_PREFIX,
        poll_seconds: float = 2.0,
        api: str = RUN_API,
    ) -> None:
        self._job_name = f"projects/{project}/locations/{location}/jobs/{job}"
        self._blobs = blobs
        self._http = http
        self._tokens = tokens
        self._prefix = prefix
        self._poll_seconds = poll_seconds
        self._api = api.rstrip("/")

    def available(self) -> str | None:
        if not all(part for part in self._job_name.split("/")):
            return "the sandbox job is not configured (project, location and job name)"
        return None

    async def run(self, command: Command, workdir: Path, limits: SandboxLimits | None = None) -> CommandResult:
        limits = limits or SandboxLimits()
        argv = argv_of(command)
        workdir = checked_workdir(workdir)
        paths = JobPaths(self._prefix, uuid.uuid4().hex)
        await self._blobs.put(paths.input, await asyncio.to_thread(pack, workdir), "application/gzip")
        operation = await self._call("POST", f"/v2/{self._job_name}:run", self._run_request(argv, limits, paths))
        try:
            operation = await self._until_done(operation)
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel(operation))
            raise
        return await self._collect(operation, paths, workdir)

    def _run_request(self, argv: list[str], limits: SandboxLimits, paths: JobPaths) -> dict[str, Any]:
        env = [{"name": RUN_ENV, "value": paths.run}, {"name": LIMITS_ENV, "value": limits_to_json(limits)}]
        timeout = math.ceil(limits.timeout_seconds) + STARTUP_MARGIN_SECONDS
        return {
            "overrides": {
                "containerOverrides": [{"args": argv, "env": env}],
                "taskCount": 1,
                "timeout": f"{timeout}s",
            }
        }

    async def _until_done(self, operation: dict[str, Any]) -> dict[str, Any]:
        while not operation.get("done"):
            await asyncio.sleep(self._poll_seconds)
            operation = await self._call("GET", f"/v2/{operation['name']}")
        return operation

    async def _collect(self, operation: dict[str, Any], paths: JobPaths, workdir: Path) -> CommandResult:
        if "error" in operation:
            error = operation["error"]
            raise SandboxFailure(f"the sandbox execution failed: {error.get('message', error)}")
        execution = operation.get("response", {})
        data = await self._blobs.get(paths.result)
        if data is None:
            raise SandboxFailure(
                f"the sandbox execution {execution.get('name', '?')} ended without a result "
                f"(succeeded {execution.get('succeededCount', 0)}, failed {execution.get('failedCount', 0)})"
            )
        result, changed = result_from_json(data)
        if changed:
            copy = await self._blobs.get(paths.output)
            if copy is None:
                raise SandboxFailure(f"the sandbox execution changed the working copy but sent none back ({paths.run})")
            # The job's copy of ``.git`` is the command's to write: the local one is kept, never replaced from it.
            await asyncio.to_thread(replace_contents, workdir, copy, keep=GIT_DIR)
        return result

    async def _cancel(self, operation: dict[str, Any]) -> None:
        execution = operation.get("metadata", {}).get("name")
        if execution:
            with suppress(SandboxFailure):  # already finished, or gone: nothing left running either way
                await self._call("POST", f"/v2/{execution}:cancel", {})

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {await self._tokens()}"}
        try:
            response = await self._http.request(method, f"{self._api}{path}", json=body, headers=headers)
        except httpx.HTTPError as error:
            raise SandboxFailure(f"the Cloud Run API could not be reached: {error}") from error
        if response.is_error:
            raise SandboxFailure(f"the Cloud Run API refused {method} {path}: {_message(response)}")
        answer: dict[str, Any] = response.json()
        return answer


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
