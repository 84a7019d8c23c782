"""The emulator's HTTP client for push deliveries: JSON POSTs over kept-alive HTTP/1.1 connections.

A push needs only the status code, so this is a small client on asyncio streams rather than a general one
(a general client's request machinery was half of the emulator's time while it pushed).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from urllib.parse import urlsplit

MAX_HEADER_LINES = 100
MAX_BODY_BYTES = 1_000_000

Origin = tuple[str, str, int]
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class PushFailedError(Exception):
    """The endpoint could not be reached or did not answer with an HTTP response in time."""


class PushClient:
    """Posts JSON and returns the status code; idle connections are kept per origin and reused."""

    def __init__(self, max_idle_per_origin: int = 64) -> None:
        self._idle: defaultdict[Origin, list[Connection]] = defaultdict(list)
        self._max_idle = max_idle_per_origin

    async def post(self, url: str, body: bytes, headers: dict[str, str], answer_within: float) -> int:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PushFailedError(f"not an http(s) endpoint: {url}")
        origin = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = _request(target, parts.netloc, body, headers)
        try:
            async with asyncio.timeout(answer_within):
                return await self._exchange(origin, request)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            raise PushFailedError(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(self, origin: Origin, request: bytes) -> int:
        idle = self._idle[origin]
        while idle:  # a kept-alive connection the endpoint closed meanwhile fails at once: try the next
            connection = idle.pop()
            try:
                return await self._send(origin, connection, request)
            except (OSError, asyncio.IncompleteReadError):
                continue
        return await self._send(origin, await _connect(origin), request)

    async def _send(self, origin: Origin, connection: Connection, request: bytes) -> int:
        reader, writer = connection
        try:
            writer.write(request)
            await writer.drain()
            status, keep_alive = await _read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep_alive and len(self._idle[origin]) < self._max_idle:
            self._idle[origin].append(connection)
        else:
            writer.close()
        return status

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()


def _request(target: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _connect(origin: Origin) -> Connection:
    scheme, host, port = origin
    return await asyncio.open_connection(host, port, ssl=ssl.create_default_context() if scheme == "https" else None)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status and whether the connection may be reused; the body is read and dropped."""
    status_line = (await reader.readuntil(b"\r\n")).decode("latin-1").split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/1.") or not status_line[1].isdigit():
        raise ValueError("not an HTTP/1.x response")
    status = int(status_line[1])
    headers = await _read_headers(reader)
    keep_alive = status_line[0] == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        await _skip_chunks(reader)
    elif "content-length" in headers:
        await _skip(reader, int(headers["content-length"]))
    elif status >= 200 and status not in (204, 304):
        await reader.read(MAX_BODY_BYTES)  # delimited by the connection's end
        keep_alive = False
    return status, keep_alive


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = (await reader.readuntil(b"\r\n")).decode("latin-1").rstrip("\r\n")
        if not line:
            return headers
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    raise ValueError("too many header lines")


async def _skip(reader: asyncio.StreamReader, size: int) -> None:
    if not 0 <= size <= MAX_BODY_BYTES:
        raise ValueError("response body too large")
    await reader.readexactly(size)


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await _skip(reader, size + 2)  # the chunk and its CRLF
        if size == 0:
            return
