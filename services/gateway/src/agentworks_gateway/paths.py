"""Path safety at the edge: every request path is checked once, on the bytes the client sent, before anything routes it.

A path is accepted only when it means the same thing to every hop after the gateway: no encoded slash or
backslash, no dot segment in any spelling, no empty segment, no control character, no double encoding. What is
accepted is kept on the request as a :class:`SafePath`, the only form the proxy forwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from agentworks_platform.errors import error_response
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_PATH_STATE = "safe_path"
# Printable ASCII without the backslash; anything else in the raw path is refused before it is decoded.
RAW_PATH = re.compile(rb"^/[\x21-\x5b\x5d-\x7e]*$")
ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
FORBIDDEN_DECODED = re.compile(r"[\x00-\x1f\x7f-\x9f/\\%]")
WEBSOCKET_POLICY_VIOLATION = 1008


class PathRefused(ValueError):
    """The path could be read differently by another hop; it is refused, never forwarded."""


@dataclass(frozen=True, slots=True)
class SafePath:
    """A checked path: ``raw`` as the client sent it (safe to forward verbatim) and its decoded ``segments``."""

    raw: str
    segments: tuple[str, ...]

    @property
    def decoded(self) -> str:
        return "/" + "/".join(self.segments)


def checked_path(raw_path: bytes) -> SafePath:
    """The path, if every hop after the gateway must read it exactly as the gateway does; else :class:`PathRefused`."""
    if not RAW_PATH.match(raw_path):
        raise PathRefused("The path must be printable ASCII starting with '/', without backslashes.")
    if ESCAPE.search(raw_path):
        raise PathRefused("The path has a malformed percent-escape.")
    raw_segments = raw_path[1:].split(b"/")
    segments = tuple(_segment(raw, last=index == len(raw_segments) - 1) for index, raw in enumerate(raw_segments))
    return SafePath(raw_path.decode("ascii"), segments)


def _segment(raw: bytes, *, last: bool) -> str:
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise PathRefused("The path is not valid UTF-8 once decoded.") from None
    if not decoded and not last:
        raise PathRefused("The path has an empty segment ('//').")
    if decoded and decoded.strip(".") == "":
        raise PathRefused("The path has a dot segment ('.' or '..').")
    if FORBIDDEN_DECODED.search(decoded):
        raise PathRefused("The path has an encoded slash, backslash, percent sign or control character.")
    return decoded


def raw_path_of(scope: Scope) -> bytes:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.partition(b"?")[0]
    path: str = scope.get("path", "")
    return path.encode("utf-8", "surrogateescape")


class PathGuard:
    """Pure ASGI middleware: refuses unsafe paths with a 400 envelope (HTTP) or a policy close (WebSocket)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            safe = checked_path(raw_path_of(scope))
        except PathRefused as exc:
            await self._refuse(scope, receive, send, str(exc))
            return
        scope.setdefault("state", {})[SAFE_PATH_STATE] = safe
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": WEBSOCKET_POLICY_VIOLATION, "reason": "invalid path"})
            return
        await error_response(400, "invalid_path", reason)(scope, receive, send)
