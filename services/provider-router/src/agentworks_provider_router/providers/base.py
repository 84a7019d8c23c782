"""What every provider adapter speaks: normalised chat requests in, streamed deltas and usage out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn in OpenAI's shape, content flattened to text."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    stop: tuple[str, ...] = ()


@dataclass(slots=True)
class Delta:
    """A piece of the streamed answer; the last one carries ``finish_reason`` and, once known, usage."""

    content: str = ""
    tool_call: ToolCall | None = None
    tool_call_index: int = 0
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    # Parts of the counts above: prompt tokens read from or written to a cache, reasoning (thinking) tokens.
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ImageRequest:
    model: str
    prompt: str
    n: int = 1
    size: str = "1024x1024"


@dataclass(frozen=True, slots=True)
class ImageResult:
    images: tuple[bytes, ...]
    input_tokens: int = 0
    mime_type: str = "image/png"


@dataclass
class ProviderError(Exception):
    """A failed provider call, classified for the retry and fallback policy."""

    message: str
    status: int = 502
    retryable: bool = True
    retry_after: float | None = None
    code: str = "provider_error"
    partial: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Provider(Protocol):
    """An LLM provider: streams chat completions and generates images."""

    name: str

    def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]: ...

    async def generate_images(self, request: ImageRequest) -> ImageResult: ...

    async def aclose(self) -> None: ...


def classify_status(status: int, retry_after: str | None, body_code: str = "") -> ProviderError:
    """HTTP status → error class: 429 and 5xx retry (honouring Retry-After), quota and 4xx never do."""
    seconds = _seconds(retry_after)
    if status == 429 and body_code in ("insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"):
        return ProviderError("The provider's quota is exhausted.", 429, False, None, "quota_exhausted")
    if status == 429:
        return ProviderError("The provider is rate limiting us.", 429, True, seconds, "provider_rate_limited")
    if status >= 500 or status in (408, 409):
        return ProviderError(f"The provider failed ({status}).", 502, True, seconds, "provider_unavailable")
    return ProviderError(
        f"The provider refused the request ({status}).",
        400 if status != 401 else 502,
        False,
        None,
        "invalid_request" if status != 401 else "provider_auth",
    )


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
