"""One error envelope for every API: ``{"error": {"code", "message", "details"}}``; never a bare 500."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
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


ENVELOPE_SCHEMA = "#/components/schemas/ErrorEnvelope"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error statuses a route or router can answer, each with the envelope."""
    return {status: error_response_doc(_DESCRIPTIONS[status]) for status in statuses}


def error_response_doc(description: str) -> dict[str, Any]:
    """An error status's OpenAPI response: ``description`` and the envelope, as a reference to its schema (which
    ``document_error_envelope`` puts in the app's document) rather than a ``model``. FastAPI builds a validator for
    each model of each route whenever it makes an app, and those of the error statuses were half the work of making
    one (a process makes many in tests); an error body is never validated on its way out."""
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ENVELOPE_SCHEMA}}}}


def document_error_envelope(document: dict[str, Any]) -> None:
    """Puts the envelope's schemas, as FastAPI writes a model's, into an OpenAPI ``document`` that refers to it."""
    if ENVELOPE_SCHEMA in json.dumps(document.get("paths", {})):
        document.setdefault("components", {}).setdefault("schemas", {}).update(copy.deepcopy(_envelope_schemas()))


@functools.cache
def _envelope_schemas() -> dict[str, Any]:
    route = APIRoute("/", _answers_an_error, responses={400: {"model": ErrorEnvelope}})
    schemas: dict[str, Any] = get_openapi(title="errors", version="0", routes=[route])["components"]["schemas"]
    return schemas


def _answers_an_error() -> None:
    """The one route of the document ``_envelope_schemas`` takes the envelope's schemas from."""


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
