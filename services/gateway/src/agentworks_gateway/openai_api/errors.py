"""The gateway's own refusals on ``/v1`` in OpenAI's error shape, so an OpenAI SDK raises the class it would
against OpenAI: 401 ``AuthenticationError``, 403 ``PermissionDeniedError``, 404 ``NotFoundError``, 429
``RateLimitError`` (a spent budget included, as OpenAI answers exhausted quota), 503 ``InternalServerError``.
The provider router's own errors already have this shape and pass through unchanged."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class OpenAIError(Exception):
    """A refusal of a ``/v1`` request, answered as ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self, status: int, kind: str, code: str | None, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self, extra_headers: dict[str, str] | None = None) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": None, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers={**self.headers, **(extra_headers or {})})


def invalid_key(message: str) -> OpenAIError:
    return OpenAIError(401, "invalid_request_error", "invalid_api_key", message)


def not_allowed(message: str) -> OpenAIError:
    return OpenAIError(403, "permission_error", "forbidden", message)


def unavailable(message: str) -> OpenAIError:
    # The SDKs retry a 503 by themselves, after Retry-After.
    return OpenAIError(503, "server_error", "unavailable", message, {"Retry-After": "5"})


def budget_spent(cap: str, spent: str) -> OpenAIError:
    """The workspace's monthly budget is spent: retrying cannot help until it is raised or the month ends."""
    return OpenAIError(
        429,
        "insufficient_quota",
        "insufficient_quota",
        f"The workspace's monthly budget is spent ({spent} of {cap} USD); an owner can raise it on the billing page.",
        {"x-should-retry": "false"},
    )
