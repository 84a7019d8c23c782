"""The CGI's request body: a client that goes away mid-push ends the feed quietly (git sees a truncated request
and refuses it), and git's answer still completes."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from agentworks_orchestrator.code.git_http import GitRequest, http_backend
from agentworks_repos import git_env
from starlette.requests import ClientDisconnect

GIT = shutil.which("git") or "git"


async def _vanishing_body() -> AsyncIterator[bytes]:
    yield b"0098" + b"0" * 40
    raise ClientDisconnect


def test_a_client_that_goes_away_mid_push_ends_the_feed_without_an_error(tmp_path: Path) -> None:
    repository = tmp_path / "shop.git"
    subprocess.run([GIT, "init", "--quiet", "--bare", str(repository)], env=git_env(), check=True)
    request = GitRequest(
        method="POST", path="git-receive-pack", query="", content_type="application/x-git-receive-pack-request",
        content_encoding="", git_protocol="", remote_user="dev@example.com", remote_addr="127.0.0.1",
    )  # fmt: skip
    failures: list[dict[str, object]] = []

    async def push() -> bytes:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: failures.append(context))
        answer = await http_backend(repository, request, _vanishing_body())
        return b"".join([chunk async for chunk in answer.body])

    asyncio.run(push())
    assert failures == []
    assert (
        subprocess.run([GIT, "for-each-ref"], cwd=repository, env=git_env(), capture_output=True, check=True).stdout
        == b""
    )
