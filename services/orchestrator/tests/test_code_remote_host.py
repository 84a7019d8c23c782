"""The code views, merges and git over HTTP on a host that is not this machine's (Secure Source Manager in
production): reads go through a mirror fetched before each read, merges push to the host, and people's git is
relayed to the host's HTTPS URL with the host's credential. The host is stood in by ``git http-backend`` behind
a bearer token, as Secure Source Manager serves its repositories."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from agentworks_localstack.threads import AppThread
from agentworks_orchestrator.code.branches import branch_for
from agentworks_orchestrator.state import OrchestratorState
from agentworks_platform.app import state_of
from agentworks_repos import GitRemote, LocalRepositoryHost, git_text, run_git
from fastapi import FastAPI, Request, Response

from .git_server import served_by_http_backend
from .test_code import Code, commit

TOKEN = "host-token"


class HttpsHost:
    """Bare repositories served over HTTP to bearers of ``TOKEN`` only."""

    kind = "ssm"

    def __init__(self, root: Path) -> None:
        self.local = LocalRepositoryHost(root)
        self.url = ""
        self.app = FastAPI()
        self.app.add_api_route("/{name}/{path:path}", self.serve, methods=["GET", "POST"])

    async def remote(self, project_id: uuid.UUID) -> GitRemote:
        return GitRemote(f"{self.url}/{project_id}.git", f"Authorization: Bearer {TOKEN}")

    async def ensure(self, project_id: uuid.UUID) -> GitRemote:
        await self.local.ensure(project_id)
        return await self.remote(project_id)

    async def serve(self, name: str, path: str, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response("no", status_code=401)
        return await served_by_http_backend(self.local.root, f"/{name}/{path}", request, "orchestrator")


@pytest.fixture
def https_host(tmp_path: Path) -> Iterator[HttpsHost]:
    host = HttpsHost(tmp_path / "hosted")
    thread = AppThread(host.app).start()
    host.url = thread.url
    yield host
    thread.stop()


@pytest.fixture
async def code(make_orchestrator: Callable[..., Any], tmp_path: Path, https_host: HttpsHost) -> AsyncIterator[Code]:
    async with AsyncExitStack() as exits:
        orchestrator = await make_orchestrator(exits, repos_dir=tmp_path / "repos")
        state_of(orchestrator.app.state.ctx, OrchestratorState).code.host = https_host
        yield Code(orchestrator, tmp_path)


async def test_views_read_a_mirror_and_merges_and_git_reach_the_host(code: Code, https_host: HttpsHost) -> None:
    card, project = code.o.card, code.o.project
    listed = await code.get(f"/api/projects/{project}/repository")
    hosted = https_host.local.path_of(project)
    assert listed["head_sha"] == await git_text("rev-parse", "main", cwd=hosted)

    remote = await https_host.remote(project)
    work = code.scratch / "work"
    await run_git("clone", "--quiet", remote.url, str(work), remote=remote)
    branch = branch_for(card, "Checkout")
    await run_git("checkout", "--quiet", "-b", branch, cwd=work)
    await commit(work, {"shop/cart.py": "total = 1\n"}, "Add the cart")
    await run_git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work, remote=remote)

    shown = await code.get(f"/api/cards/{card}/code")  # the mirror fetched the push
    assert (shown["exists"], shown["mergeable"], [f["path"] for f in shown["files"]]) == (True, True, ["shop/cart.py"])
    merged = await code.call("POST", f"/api/cards/{card}/code/merge")
    assert merged.status_code == 200, merged.text
    assert await git_text("rev-parse", "main", cwd=hosted) == merged.json()["merged_sha"]

    # A person's git, relayed with the host's credential (the person never holds it).
    answer = await code.call("GET", f"/git/{project}/info/refs?service=git-upload-pack")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-git-upload-pack-advertisement"
    assert f"refs/heads/{branch}".encode() in answer.content
