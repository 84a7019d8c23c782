"""One error envelope for every API: ``{"error": {"code", "message", "details"}}``; never a bare 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentworks_platform.logging import get_logger

log = get_logger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class AppError(Exception):
    """An expected failure with a stable machine-readable code and a message safe to show users."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.details = details
        self.headers = headers


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Unauthenticated(AppError):
    status_code = 401
    code = "unauthenticated"


class Unavailable(AppError):
    """503: a service this request depends on did not answer; the caller may retry shortly."""

    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int | None = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)} if retry_after else None)


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine-readable ``code``, a ``message`` safe to show, optional ``details``."""

    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The body of every error response (documented in the OpenAPI of every route that can answer it)."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "The body, query or cursor cannot be read.",
    401: "No valid credentials.",
    402: "The workspace's monthly budget is spent.",
    403: "The caller may not do this.",
    404: "No such resource (or not one the caller may see).",
    409: "The resource's state does not allow this now.",
    410: "The resource existed but is no longer valid (an expired link).",
    413: "The request body is too large.",
    415: "The body is not a kind of content this route takes.",
    422: "The request is not valid.",
    429: "Too many requests; retry after ``Retry-After`` seconds.",
    503: "A service this request depends on is unavailable; retry shortly.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error statuses a route or router can answer, each with the envelope."""
    return {status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]} for status in statuses}


# Any service route can meet a body or query it cannot read, a caller without a valid token or without the right.
COMMON_ERRORS = error_responses(400, 401, 403, 422)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")} for err in exc.errors()
    ]
    return error_response(422, "invalid_request", "The request is not valid.", details)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.failed", path=request.url.path, method=request.method, error=type(exc).__name__)
    return error_response(500, "internal", "Something went wrong on our side; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
