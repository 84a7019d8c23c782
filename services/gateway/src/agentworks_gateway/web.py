"""The web app: Vite's built assets at ``/``, and ``index.html`` for every client-side route."""

from __future__ import annotations

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


@router.get("/{path:path}")
async def page(path: str, request: Request) -> Response:
    if path.startswith(NOT_PAGES):
        return error_response(404, "not_found", f"No such endpoint: /{path}")
    dist = _dist(request)
    asset = _asset(dist, path)
    if asset is not None:
        immutable = path.startswith("assets/")  # Vite names them by content hash
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(asset, headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})
