"""A strict in-process fake of the Cloud Run Admin API v2 (jobs.run, operations.get, executions.cancel).

It refuses what the real API refuses for these calls (no or a wrong token, an unknown job, unknown fields, override
shapes the API does not take) and runs each execution as the sandbox image would: the job runner with the
working copy from the blobs port, except that the command runs under bubblewrap on this machine.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_blobs import LocalBlobs
from agentworks_sandbox import BubblewrapSandbox, CloudRunJobSandbox, Sandbox
from agentworks_sandbox.job import DEFAULT_PREFIX, LIMITS_ENV, RUN_ENV, JobFailure, JobPaths, limits_from_json, run_job

TOKEN = "ya29.fake-access-token"
PROJECT, LOCATION, JOB = "agentworks-test", "europe-west1", "agentworks-sandbox"
CONTAINER = "sandbox"
_RUN_PATH = re.compile(r"^/v2/projects/([^/]+)/locations/([^/]+)/jobs/([^/:]+):run$")
_OPERATION_PATH = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/operations/[^/]+)$")
_CANCEL_PATH = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/jobs/[^/]+/executions/[^/:]+):cancel$")
_DURATION = re.compile(r"^\d+(\.\d{1,9})?s$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXECUTION = "type.googleapis.com/google.cloud.run.v2.Execution"


class _Refused(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def _unknown(fields: dict[str, Any], allowed: set[str], where: str) -> None:
    for name in fields:
        if name not in allowed:
            raise _Refused(
                400, "INVALID_ARGUMENT", f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}'."
            )


@dataclass
class FakeExecution:
    name: str
    operation: str
    args: list[str]
    env: dict[str, str]
    timeout_seconds: float
    task: asyncio.Task[None] | None = None
    succeeded: int = 0
    failed: int = 0
    cancelled: bool = False


@dataclass
class FakeCloudRun:
    blobs: LocalBlobs
    jobs: set[str] = field(default_factory=lambda: {f"projects/{PROJECT}/locations/{LOCATION}/jobs/{JOB}"})
    executions: dict[str, FakeExecution] = field(default_factory=dict)
    run_bodies: list[dict[str, Any]] = field(default_factory=list)
    job_env: dict[str, str] = field(default_factory=lambda: {"AW_SANDBOX_BUCKET": "agentworks-sandbox-test"})
    # What runs the command in the job's container (the real image uses ``JobContainerExecutor``).
    executor: Sandbox = field(default_factory=BubblewrapSandbox)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        try:
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                raise _Refused(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
            return httpx.Response(200, json=await self._route(request))
        except _Refused as refused:
            body = {"error": {"code": refused.code, "message": refused.message, "status": refused.status}}
            return httpx.Response(refused.code, json=body)

    async def _route(self, request: httpx.Request) -> dict[str, Any]:
        path = request.url.path
        if request.method == "POST" and (match := _RUN_PATH.match(path)):
            project, location, job = match.groups()
            return self._run(project, location, job, _json_object(request))
        if request.method == "GET" and (match := _OPERATION_PATH.match(path)):
            return self._operation(match.group(1))
        if request.method == "POST" and (match := _CANCEL_PATH.match(path)):
            return self._cancel(match.group(1), _json_object(request))
        raise _Refused(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")

    def _run(self, project: str, location: str, job: str, body: dict[str, Any]) -> dict[str, Any]:
        job_name = f"projects/{project}/locations/{location}/jobs/{job}"
        if job_name not in self.jobs:
            message = f"Resource '{job}' of kind 'JOB' in region '{location}' in project '{project}' does not exist."
            raise _Refused(404, "NOT_FOUND", message)
        _unknown(body, {"validateOnly", "etag", "overrides"}, "")
        overrides = body.get("overrides", {})
        if not isinstance(overrides, dict):
            raise _Refused(400, "INVALID_ARGUMENT", "Invalid value at 'overrides'")
        _unknown(overrides, {"containerOverrides", "taskCount", "timeout"}, "overrides")
        args, env = self._container_overrides(overrides.get("containerOverrides", []))
        task_count = overrides.get("taskCount", 1)
        if not isinstance(task_count, int) or isinstance(task_count, bool) or task_count < 0:
            raise _Refused(400, "INVALID_ARGUMENT", "Invalid value at 'overrides.task_count' (TYPE_INT32)")
        timeout = overrides.get("timeout", "600s")
        if not isinstance(timeout, str) or not _DURATION.match(timeout):
            raise _Refused(
                400,
                "INVALID_ARGUMENT",
                "Invalid value at 'overrides.timeout' (type.googleapis.com/google.protobuf.Duration)",
            )
        self.run_bodies.append(body)
        execution_id = f"{job}-{uuid.uuid4().hex[:5]}"
        execution = FakeExecution(
            name=f"{job_name}/executions/{execution_id}",
            operation=f"projects/{project}/locations/{location}/operations/{uuid.uuid4()}",
            args=args,
            env={**self.job_env, **env},
            timeout_seconds=float(timeout[:-1]),
        )
        self.executions[execution.operation] = execution
        execution.task = asyncio.create_task(self._execute(execution))
        return {"name": execution.operation, "metadata": {"@type": _EXECUTION, "name": execution.name}, "done": False}

    def _container_overrides(self, overrides: Any) -> tuple[list[str], dict[str, str]]:
        if not isinstance(overrides, list):
            raise _Refused(400, "INVALID_ARGUMENT", "Invalid value at 'overrides.container_overrides'")
        if len(overrides) > 1:
            raise _Refused(400, "INVALID_ARGUMENT", "The job has one container: at most one container override.")
        args: list[str] = []
        env: dict[str, str] = {}
        for override in overrides:
            if not isinstance(override, dict):
                raise _Refused(400, "INVALID_ARGUMENT", "Invalid value at 'overrides.container_overrides[0]'")
            _unknown(override, {"name", "args", "env", "clearArgs"}, "overrides.container_overrides[0]")
            if override.get("name", CONTAINER) != CONTAINER:
                raise _Refused(400, "INVALID_ARGUMENT", f"Container '{override['name']}' is not in the job.")
            args = override.get("args", [])
            if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
                raise _Refused(400, "INVALID_ARGUMENT", "Invalid value at 'overrides.container_overrides[0].args'")
            for variable in override.get("env", []):
                if not isinstance(variable, dict):
                    raise _Refused(400, "INVALID_ARGUMENT", "Invalid value at 'overrides.container_overrides[0].env'")
                _unknown(variable, {"name", "value", "valueSource"}, "overrides.container_overrides[0].env[0]")
                name, value = variable.get("name"), variable.get("value", "")
                if not isinstance(name, str) or not _ENV_NAME.match(name) or not isinstance(value, str):
                    raise _Refused(400, "INVALID_ARGUMENT", f"Invalid environment variable {name!r}.")
                env[name] = value
        return args, env

    async def _execute(self, execution: FakeExecution) -> None:
        try:
            paths = JobPaths(execution.env.get("AW_SANDBOX_PREFIX", DEFAULT_PREFIX), execution.env[RUN_ENV])
            limits = limits_from_json(execution.env[LIMITS_ENV])
            with tempfile.TemporaryDirectory(prefix="fake-cloud-run-") as workspace:
                async with asyncio.timeout(execution.timeout_seconds):
                    await run_job(self.blobs, self.executor, paths, execution.args, limits, Path(workspace))
            execution.succeeded = 1
        except (KeyError, JobFailure, TimeoutError):
            execution.failed = 1

    def _operation(self, name: str) -> dict[str, Any]:
        execution = self.executions.get(name)
        if execution is None:
            raise _Refused(404, "NOT_FOUND", f"Operation {name} not found.")
        assert execution.task is not None
        if not execution.task.done():
            return {"name": name, "metadata": {"@type": _EXECUTION, "name": execution.name}, "done": False}
        response = {
            "@type": _EXECUTION,
            "name": execution.name,
            "taskCount": 1,
            "succeededCount": execution.succeeded,
            "failedCount": execution.failed,
            "cancelledCount": int(execution.cancelled),
        }
        return {
            "name": name,
            "metadata": {"@type": _EXECUTION, "name": execution.name},
            "done": True,
            "response": response,
        }

    def _cancel(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        _unknown(body, {"validateOnly", "etag"}, "")
        execution = next((e for e in self.executions.values() if e.name == name), None)
        if execution is None:
            raise _Refused(404, "NOT_FOUND", f"Execution {name} not found.")
        assert execution.task is not None
        execution.cancelled = True
        execution.task.cancel()
        return {"name": execution.operation, "metadata": {"@type": _EXECUTION, "name": name}, "done": False}


def _json_object(request: httpx.Request) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"{}")
    except ValueError as error:
        raise _Refused(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from error
    if not isinstance(body, dict):
        raise _Refused(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Root element must be a message.")
    return body


async def _token() -> str:
    return TOKEN


@pytest.fixture
def sandbox_blobs(tmp_path: Path) -> LocalBlobs:
    return LocalBlobs(tmp_path / "blobs")


@pytest.fixture
async def cloud_run(sandbox_blobs: LocalBlobs) -> AsyncIterator[FakeCloudRun]:
    fake = FakeCloudRun(sandbox_blobs)
    yield fake
    for execution in fake.executions.values():
        if execution.task is not None and not execution.task.done():
            execution.task.cancel()
            await asyncio.gather(execution.task, return_exceptions=True)


@pytest.fixture
async def cloud_run_http(cloud_run: FakeCloudRun) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(cloud_run.handle)) as client:
        yield client


@pytest.fixture
def cloud_run_sandbox(sandbox_blobs: LocalBlobs, cloud_run_http: httpx.AsyncClient) -> CloudRunJobSandbox:
    return CloudRunJobSandbox(
        project=PROJECT,
        location=LOCATION,
        job=JOB,
        blobs=sandbox_blobs,
        http=cloud_run_http,
        tokens=_token,
        poll_seconds=0.05,
    )
