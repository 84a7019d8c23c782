"""The web app: Vite's built assets at ``/``, and ``index.html`` for every client-side route.

The build writes a brotli (``.br``) and a gzip (``.gz``) copy beside each text asset; a browser that accepts one
gets it, with the original's Content-Type and ``Vary: Accept-Encoding``. Source maps are never served."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from agentworks_platform.app import context_of
from agentworks_platform.errors import error_response
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)

# Service-only prefixes: a browser asking for one gets a 404, not the app (no one may mistake it for an answer).
NOT_PAGES = ("api/", "_events/", "webhooks/", "internal/", "v1/")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Precompressed copies, best first, by the content coding the browser names in Accept-Encoding.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>AgentWorks</title>
<h1>The web app is not built</h1><p>Run <code>make web</code> (or <code>make dev</code>, which builds it) and reload.
The API is at <a href="/api/docs">/api/docs</a>.</p>"""


def _dist(request: Request) -> Path:
    dist: Path = context_of(request).settings.web_dist  # type: ignore[attr-defined]
    return dist


def _asset(dist: Path, path: str) -> Path | None:
    """The file under ``dist`` the path names, never anything outside it."""
    if not path:
        return None
    candidate = (dist / path).resolve()
    if candidate.is_file() and candidate.is_relative_to(dist.resolve()):
        return candidate
    return None


def accepted_codings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header accepts (``q=0`` refuses one; ``*`` stands for any other)."""
    accepted: set[str] = set()
    refused: set[str] = set()
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding:
            (accepted if quality > 0 else refused).add(coding)
    if "*" in accepted:
        accepted |= {coding for coding, _ in ENCODINGS if coding not in refused}
    return accepted - refused


def _send(file: Path, request: Request, headers: dict[str, str]) -> FileResponse:
    """The file, or its precompressed copy in the best coding the browser accepts, typed as the original."""
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    copies = [(coding, file.with_name(file.name + suffix)) for coding, suffix in ENCODINGS]
    if not any(copy.is_file() for _, copy in copies):
        return FileResponse(file, media_type=media_type, headers=headers)
    headers = {**headers, "Vary": "Accept-Encoding"}
    accepted = accepted_codings(request.headers.get("accept-encoding", ""))
    for coding, copy in copies:
        if coding in accepted and copy.is_file():
            return FileResponse(copy, media_type=media_type, headers={**headers, "Content-Encoding": coding})
    return FileResponse(file, media_type=media_type, headers=headers)


@router.get("/{path:path}")
async def page(path: str, request: Request) -> Response:
    if path.startswith(NOT_PAGES):
        return error_response(404, "not_found", f"No such endpoint: /{path}")
    if path.endswith(".map"):  # source maps stay with the build, not with the public
        return error_response(404, "not_found", f"No such file: /{path}")
    dist = _dist(request)
    asset = _asset(dist, path)
    if asset is not None:
        immutable = path.startswith("assets/")  # Vite names them by content hash
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return _send(asset, request, {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
    return _send(index, request, {"Cache-Control": "no-cache", **SECURITY_HEADERS})
