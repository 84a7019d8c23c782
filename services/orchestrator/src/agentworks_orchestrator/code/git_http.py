"""Git's smart HTTP protocol served by ``git http-backend`` (CGI) over a local bare repository, or relayed to a
remote host's HTTPS git with the host's credential; both bodies streamed: the request's as it arrives
(gzip-encoded as git sends it), the pack back as git writes it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
from agentworks_repos import GitRemote, git_env
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

# The only three requests a smart-HTTP client makes; anything else (the dumb protocol) is not served.
SMART_PATHS = frozenset({"info/refs", "git-upload-pack", "git-receive-pack"})
SERVICES = frozenset({"git-upload-pack", "git-receive-pack"})
PASSED_HEADERS = ("content-type", "cache-control", "expires", "pragma")
HEADER_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class GitRequest:
    """One smart-HTTP request as the CGI sees it."""

    method: str
    path: str
    query: str
    content_type: str
    content_encoding: str
    git_protocol: str
    remote_user: str
    remote_addr: str


class AmbiguousServiceError(ValueError):
    """A request naming its git service more than once: the role check would read one, ``git http-backend``
    another (a viewer's ``service=git-upload-pack&service=git-receive-pack`` would push)."""


def service_of(path: str, query: str) -> str | None:
    """The git service a request is for: the POST's path, or ``info/refs``' one ``service=`` parameter, read as
    ``git http-backend`` reads it (percent-decoded, name and value); raises :class:`AmbiguousServiceError` when
    the query names more than one."""
    named = [value for name, value in parse_qsl(query, keep_blank_values=True) if name == "service"]
    if len(named) > 1:
        raise AmbiguousServiceError("A git request names its service once (one service= parameter).")
    if path in SERVICES:
        return path
    if path == "info/refs" and named and named[0] in SERVICES:
        return named[0]
    return None


class GitStreamingResponse(StreamingResponse):
    """Git's answer, streamed while the request's body is still being read (git answers a push's headers before
    it has read the pack). Starlette's own streaming answer reads ``receive`` to watch for a disconnect, which
    takes the body's chunks away from their reader and truncates a push; this one leaves ``receive`` to the body
    (a client that goes away ends the body, and then git's answer)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002 - ASGI's signature
        try:
            await self.stream_response(send)
        except OSError:
            return  # the client went away mid-answer; closing the body below stops git
        finally:
            closing = getattr(self.body_iterator, "aclose", None)
            if closing is not None:
                await closing()


@dataclass
class CgiResponse:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes]


async def http_backend(
    repository: Path, request: GitRequest, body: AsyncIterator[bytes], config: Mapping[str, str] | None = None
) -> CgiResponse:
    """Run ``git http-backend`` for ``request`` on ``repository``, with ``config`` (``GIT_CONFIG_*`` variables, which
    the receive-pack it starts inherits) over the repository's own; its status and headers are read before this
    returns, its body streams."""
    env = git_env({
        **(config or {}),
        "GIT_PROJECT_ROOT": str(repository.parent),
        "PATH_INFO": f"/{repository.name}/{request.path}",
        "QUERY_STRING": request.query,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.content_type,
        "GIT_HTTP_EXPORT_ALL": "1",
        "REMOTE_USER": request.remote_user,
        "REMOTE_ADDR": request.remote_addr,
        **({"HTTP_CONTENT_ENCODING": request.content_encoding} if request.content_encoding else {}),
        **({"GIT_PROTOCOL": request.git_protocol} if request.git_protocol else {}),
    })  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        "git", "http-backend", env=env, cwd=repository,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    feeding = asyncio.ensure_future(_feed(process.stdin, body))
    try:
        head = await process.stdout.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        await _finish(process, feeding)
        return CgiResponse(502, {"content-type": "text/plain"}, _once(b"git could not answer this request.\n"))
    status, headers = _parse_head(head)
    return CgiResponse(status, headers, _rest(process, feeding))


async def _feed(stdin: asyncio.StreamWriter, body: AsyncIterator[bytes]) -> None:
    # The backend may stop reading early (a refusal, or a gzip stream it has read to its end) and exit: then its
    # pipe is closed under the writer, and its answer says all there is to say. A client that goes away ends the
    # body early: git then reads a truncated request and refuses it, nothing to report.
    with contextlib.suppress(ConnectionError, RuntimeError, ClientDisconnect):
        try:
            async for chunk in body:
                if chunk:
                    stdin.write(chunk)
                    await stdin.drain()
        finally:
            stdin.close()


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == "status":
            status = int(value.split()[0])
        elif name in PASSED_HEADERS:
            headers[name] = value
    return status, headers


async def _rest(process: asyncio.subprocess.Process, feeding: asyncio.Future[None]) -> AsyncIterator[bytes]:
    assert process.stdout is not None
    try:
        while chunk := await process.stdout.read(64 * 1024):
            yield chunk
    finally:
        await _finish(process, feeding)


async def _finish(process: asyncio.subprocess.Process, feeding: asyncio.Future[None]) -> None:
    if process.returncode is None:
        # Normally done already (its output ended); a client that went away leaves it to be stopped.
        with contextlib.suppress(ProcessLookupError):
            if process.stdout is not None and not process.stdout.at_eof():
                process.kill()
        await process.wait()
    feeding.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await feeding


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def relay(
    client: httpx.AsyncClient, remote: GitRemote, request: GitRequest, body: AsyncIterator[bytes]
) -> CgiResponse:
    """The request passed on to ``remote`` (a hosted repository's HTTPS URL) with its authorization header."""
    headers = {"content-type": request.content_type} if request.content_type else {}
    if request.content_encoding:
        headers["content-encoding"] = request.content_encoding
    if request.git_protocol:
        headers["git-protocol"] = request.git_protocol
    if remote.auth_header:
        name, _, value = remote.auth_header.partition(":")
        headers[name.strip()] = value.strip()
    url = f"{remote.url.rstrip('/')}/{request.path}" + (f"?{request.query}" if request.query else "")
    outgoing = client.build_request(request.method, url, headers=headers, content=body)
    response = await client.send(outgoing, stream=True)
    kept = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}

    async def rest() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        finally:
            await response.aclose()

    return CgiResponse(response.status_code, kept, rest())
