"""The Secure Source Manager host against a strict wire fake of its REST API (repositories made by a
long-running operation, ids validated, bearer tokens required) whose repositories are served over HTTPS git by
a local ``git http-backend``, as Secure Source Manager serves them."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentworks_localstack.threads import AppThread
from agentworks_repos import (
    GitError,
    RepositoryHost,
    RepositoryHostError,
    SecureSourceManagerHost,
    git_env,
    git_text,
    repository_id,
    run_git,
)
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

PROJECT, LOCATION, INSTANCE = "acme-prod", "europe-west1", "agentworks"
TOKEN = "ya29.test-access-token"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
REPOSITORY_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
GIT = shutil.which("git") or "git"


def google_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": code}}, status_code=status)


class SecureSourceManagerFake:
    """The REST operations the host uses, refusing what the real API refuses, and git over HTTPS."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = ""
        self.repositories: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.creates = 0
        self.deletes = 0
        self._ids = itertools.count(1)
        self.app = FastAPI()
        self.app.add_api_route(f"/v1/{PARENT}/repositories", self.create, methods=["POST"])
        self.app.add_api_route(f"/v1/{PARENT}/repositories/{{name}}", self.get, methods=["GET"])
        self.app.add_api_route(f"/v1/{PARENT}/repositories/{{name}}", self.delete, methods=["DELETE"])
        self.app.add_api_route(f"/v1/{PARENT}/operations/{{name}}", self.operation, methods=["GET"])
        self.app.add_api_route("/git/{name}/{path:path}", self.git, methods=["GET", "POST"])

    @staticmethod
    def _authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def create(self, request: Request) -> Response:
        if not self._authorized(request):
            return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        name = request.query_params.get("repository_id", "")
        body = await request.json()
        if not REPOSITORY_ID.match(name):
            return google_error(400, "INVALID_ARGUMENT", f"invalid repository id {name!r}")
        if set(body) - {"instance", "description", "initialConfig"} or body.get("instance") != (
            f"{PARENT}/instances/{INSTANCE}"
        ):
            return google_error(400, "INVALID_ARGUMENT", "invalid repository")
        if set(body.get("initialConfig", {})) - {"defaultBranch", "gitignores", "license", "readme"}:
            return google_error(400, "INVALID_ARGUMENT", "invalid initial config")
        if name in self.repositories:
            return google_error(409, "ALREADY_EXISTS", f"repository {name} already exists")
        self.creates += 1
        await asyncio.to_thread(_seed, self.root, name, body["initialConfig"]["defaultBranch"])
        self.repositories[name] = {
            "name": f"{PARENT}/repositories/{name}",
            "instance": body["instance"],
            "uris": {"html": f"{self.url}/{name}", "gitHttps": f"{self.url}/git/{name}.git", "api": self.url},
        }
        operation = f"{PARENT}/operations/operation-{next(self._ids)}"
        self.operations[operation] = {"name": operation, "done": True, "response": self.repositories[name]}
        return JSONResponse({"name": operation, "done": False})

    async def get(self, name: str, request: Request) -> Response:
        if not self._authorized(request):
            return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if name not in self.repositories:
            return google_error(404, "NOT_FOUND", f"repository {name} not found")
        return JSONResponse(self.repositories[name])

    async def delete(self, name: str, request: Request) -> Response:
        if not self._authorized(request):
            return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if set(request.query_params) - {"allowMissing"} or await request.body():
            return google_error(400, "INVALID_ARGUMENT", "invalid delete request")
        if name not in self.repositories:
            if request.query_params.get("allowMissing") == "true":
                return JSONResponse({"name": self._operation({}), "done": False})
            return google_error(404, "NOT_FOUND", f"repository {name} not found")
        self.deletes += 1
        del self.repositories[name]
        for made in (f"{name}.git", f"{name}-seed"):
            await asyncio.to_thread(shutil.rmtree, self.root / made)
        return JSONResponse({"name": self._operation({}), "done": False})

    def _operation(self, response: dict[str, Any]) -> str:
        """A finished long-running operation, as the next poll finds it."""
        operation = f"{PARENT}/operations/operation-{next(self._ids)}"
        self.operations[operation] = {"name": operation, "done": True, "response": response}
        return operation

    async def operation(self, name: str, request: Request) -> Response:
        if not self._authorized(request):
            return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        found = self.operations.get(f"{PARENT}/operations/{name}")
        return JSONResponse(found) if found else google_error(404, "NOT_FOUND", "no such operation")

    async def git(self, name: str, path: str, request: Request) -> Response:
        if not self._authorized(request):
            return Response("Unauthorized", status_code=401, headers={"WWW-Authenticate": 'Basic realm="SSM"'})
        env = git_env({
            "GIT_PROJECT_ROOT": str(self.root), "PATH_INFO": f"/{name}/{path}", "QUERY_STRING": request.url.query,
            "REQUEST_METHOD": request.method, "CONTENT_TYPE": request.headers.get("content-type", ""),
            "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": "orchestrator",
            "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
        })  # fmt: skip
        backend = [GIT, "http-backend"]
        body = await request.body()
        done = await asyncio.to_thread(subprocess.run, backend, env=env, input=body, capture_output=True, check=False)
        out = done.stdout
        head, _, answer = out.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line)
        status = int(headers.pop("Status", "200").split()[0])
        return Response(answer, status_code=status, headers={"content-type": headers.get("Content-Type", "")})


def _seed(root: Path, name: str, branch: str) -> None:
    """A new bare repository with a README on ``branch`` (``initialConfig.readme``)."""
    bare, seed = root / f"{name}.git", root / f"{name}-seed"
    subprocess.run(
        [GIT, "init", "--quiet", "--bare", f"--initial-branch={branch}", str(bare)], check=True, env=git_env()
    )
    subprocess.run([GIT, "clone", "--quiet", str(bare), str(seed)], check=True, env=git_env())
    (seed / "README.md").write_text(f"# {name}\n")
    identity = ["-c", "user.name=SSM", "-c", "user.email=ssm@example.com"]
    for args in (["add", "README.md"], ["commit", "--quiet", "-m", "Initial commit"], ["push", "-q", "origin", "HEAD"]):
        subprocess.run([GIT, *identity, *args], cwd=seed, check=True, env=git_env())


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[SecureSourceManagerFake]:
    made = SecureSourceManagerFake(tmp_path / "ssm")
    made.root.mkdir()
    thread = AppThread(made.app).start()
    made.url = thread.url
    yield made
    thread.stop()


async def _token() -> str:
    return TOKEN


@pytest.fixture
async def host(fake: SecureSourceManagerFake) -> Any:
    made = SecureSourceManagerHost(PROJECT, LOCATION, INSTANCE, token=_token, api=f"{fake.url}/v1", poll_seconds=0)
    yield made
    await made.aclose()


async def test_ensure_creates_the_repository_once_with_main_and_git_reaches_it(
    host: SecureSourceManagerHost, fake: SecureSourceManagerFake, tmp_path: Path
) -> None:
    project = uuid.uuid4()
    port: RepositoryHost = host
    remotes = await asyncio.gather(*(port.ensure(project) for _ in range(3)))
    assert fake.creates == 1
    remote = remotes[0]
    assert remote.url == f"{fake.url}/git/{repository_id(project)}.git"
    assert remote.auth_header == f"Authorization: Bearer {TOKEN}"
    assert await port.remote(project) == remote
    work = tmp_path / "work"
    await run_git("clone", "--quiet", remote.url, str(work), remote=remote)
    assert await git_text("rev-parse", "--abbrev-ref", "HEAD", cwd=work) == "main"
    (work / "app.py").write_text("x = 1\n")
    await run_git("add", "app.py", cwd=work)
    await run_git("-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-q", "-m", "Add", cwd=work)
    await run_git("push", "--quiet", "origin", "HEAD:refs/heads/card/x-12345678", cwd=work, remote=remote)
    listed = await git_text("ls-remote", "--heads", remote.url, remote=remote)
    assert "refs/heads/card/x-12345678" in listed


async def test_a_repository_made_by_another_instance_is_found_not_made_again(
    fake: SecureSourceManagerFake, host: SecureSourceManagerHost
) -> None:
    project = uuid.uuid4()
    other = SecureSourceManagerHost(PROJECT, LOCATION, INSTANCE, token=_token, api=f"{fake.url}/v1", poll_seconds=0)
    try:
        first = await other.ensure(project)
        assert await host.ensure(project) == first
        assert fake.creates == 1
    finally:
        await other.aclose()


async def test_a_project_without_a_repository_has_no_remote_and_git_needs_the_token(
    host: SecureSourceManagerHost, fake: SecureSourceManagerFake, tmp_path: Path
) -> None:
    with pytest.raises(RepositoryHostError, match="no repository yet"):
        await host.remote(uuid.uuid4())
    remote = await host.ensure(uuid.uuid4())
    with pytest.raises(GitError):
        await run_git("ls-remote", remote.url)  # no Authorization header: refused, never a prompt


async def test_refusals_of_the_api_are_errors_that_say_why(fake: SecureSourceManagerFake) -> None:
    async def wrong() -> str:
        return "ya29.expired"

    host = SecureSourceManagerHost(PROJECT, LOCATION, INSTANCE, token=wrong, api=f"{fake.url}/v1", poll_seconds=0)
    try:
        with pytest.raises(RepositoryHostError, match="401 Request had invalid authentication credentials"):
            await host.ensure(uuid.uuid4())
    finally:
        await host.aclose()
    elsewhere = SecureSourceManagerHost(PROJECT, LOCATION, "other", token=_token, api=f"{fake.url}/v1", poll_seconds=0)
    try:
        with pytest.raises(RepositoryHostError, match="400 invalid repository"):
            await elsewhere.ensure(uuid.uuid4())
    finally:
        await elsewhere.aclose()


def test_repository_ids_are_valid_on_the_instance() -> None:
    assert REPOSITORY_ID.match(repository_id(uuid.UUID(int=0)))
    assert repository_id(uuid.UUID("3f2a9c1e-0000-4000-8000-000000000000")) == "p-3f2a9c1e-0000-4000-8000-000000000000"
    with pytest.raises(ValueError, match="badly formed"):
        repository_id("../x")  # type: ignore[arg-type]


async def test_delete_removes_the_repository_and_a_repeated_delete_is_harmless(
    host: SecureSourceManagerHost, fake: SecureSourceManagerFake
) -> None:
    project, kept = uuid.uuid4(), uuid.uuid4()
    await host.ensure(project)
    await host.ensure(kept)
    port: RepositoryHost = host
    await port.delete(project)
    assert repository_id(project) not in fake.repositories
    assert not (fake.root / f"{repository_id(project)}.git").exists()
    with pytest.raises(RepositoryHostError, match="no repository yet"):
        await host.remote(project)  # nothing remembered of it either
    await port.delete(project)
    await port.delete(uuid.uuid4())  # never made
    assert fake.deletes == 1
    assert repository_id(kept) in fake.repositories
    remade = await host.ensure(project)  # a project id is never reused, but the host would start afresh
    assert remade.url.endswith(f"/git/{repository_id(project)}.git")
