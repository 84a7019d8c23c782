"""Errors in OpenAI's shape, so every OpenAI SDK raises the exception class it would against OpenAI.

The body is ``{"error": {"message", "type", "param", "code", "details"}}``: OpenAI's four fields plus the
platform envelope's ``details`` (its ``code`` and ``message`` are the same fields), so AgentWorks clients
that read the platform envelope keep working. An invalid request is 400, as OpenAI answers it, never 422.
"""

from __future__ import annotations

from typing import Any

from agentworks_platform.errors import AppError
from agentworks_platform.logging import get_logger
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = get_logger(__name__)

ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 429: "rate_limited"}


def error_type(status: int, code: str | None) -> str:
    if code == "quota_exhausted":
        return "insufficient_quota"
    if status >= 500:
        return "server_error"
    return ERROR_TYPES.get(status, "invalid_request_error")


def openai_error(
    status: int,
    code: str | None,
    message: str,
    param: str | None = None,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {
        "error": {
            "message": message,
            "type": error_type(status, code),
            "param": param,
            "code": code,
            "details": details,
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    details = exc.details if isinstance(exc.details, dict) else {}
    # A provider's own code (e.g. ``context_length_exceeded``) tells the client more than ours.
    code = details.get("provider_code") or exc.code
    status = 400 if exc.status_code == 422 else exc.status_code
    return openai_error(status, code, exc.message, details.get("param"), exc.details, exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return openai_error(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def _is_union_label(part: Any) -> bool:
    """Pydantic names the member of a union it tried (``str``, ``list[...]``) in the error's location."""
    return isinstance(part, str) and (
        "[" in part or part.startswith("constrained-") or part in ("str", "int", "float", "bool", "dict", "list")
    )


def _field(location: tuple[Any, ...]) -> str:
    """``("body", "messages", 0, "content", "list[...]", 1, "image_url", "image_url", "url")`` →
    ``messages[0].content[1].image_url.url``, as OpenAI names a parameter (a discriminator tag repeats its field)."""
    parts = [p for p in location if not _is_union_label(p)]
    if parts and parts[0] in ("body", "query", "header"):
        parts = parts[1:]
    name = ""
    for n, part in enumerate(parts):
        if n and part == parts[n - 1]:
            continue
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


def _most_telling(errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first error that is not just "this union member did not fit" (which says little), else the first."""
    for error in errors:
        location = tuple(error.get("loc", ()))
        if not (location and _is_union_label(location[-1])):
            return error
    return errors[0] if errors else None


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    problems = [{"field": _field(tuple(err.get("loc", ()))), "problem": err.get("msg", "")} for err in errors]
    telling = _most_telling(errors)
    field = _field(tuple(telling.get("loc", ()))) if telling else ""
    problem = str(telling.get("msg", "")) if telling else "The request is not valid."
    message = f"Invalid value for {field}: {problem}" if field else problem
    return openai_error(400, "invalid_request", message, field or None, problems)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.failed", path=request.url.path, method=request.method, error=type(exc).__name__)
    return openai_error(500, "internal", "Something went wrong on our side; it has been logged.")


def install_openai_errors(app: FastAPI) -> None:
    """Replace the platform's error handlers with OpenAI-shaped ones (the router serves only /v1 and health)."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
