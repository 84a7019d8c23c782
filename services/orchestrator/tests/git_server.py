"""A git host for tests: one request answered by ``git http-backend`` as a forge or Secure Source Manager answers
it (the caller checks the credential first)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from agentworks_repos import git_env
from fastapi import Request, Response

GIT = shutil.which("git") or "git"


async def served_by_http_backend(root: Path, path_info: str, request: Request, remote_user: str) -> Response:
    """``git http-backend`` run as CGI for ``path_info`` below ``root``, its answer as an HTTP response."""
    env = git_env({
        "GIT_PROJECT_ROOT": str(root), "PATH_INFO": path_info, "QUERY_STRING": request.url.query,
        "REQUEST_METHOD": request.method, "CONTENT_TYPE": request.headers.get("content-type", ""),
        "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": remote_user,
        "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
    })  # fmt: skip
    body = await request.body()
    done = await asyncio.to_thread(
        subprocess.run, [GIT, "http-backend"], env=env, input=body, capture_output=True, check=False
    )
    head, _, answer = done.stdout.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line)
    status = int(headers.pop("Status", "200").split()[0])
    return Response(answer, status_code=status, headers={"content-type": headers.get("Content-Type", "")})
