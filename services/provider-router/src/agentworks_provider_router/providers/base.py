"""What every provider adapter speaks: normalised chat requests in, streamed deltas and usage out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


DATA_URL = re.compile(r"^data:(?P<mime>image/[\w+.-]+);base64,(?P<data>[A-Za-z0-9+/=\s]+)$")


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image input: an ``https:`` URL or a ``data:image/…;base64,`` URL, with OpenAI's ``detail`` hint."""

    url: str
    detail: str | None = None

    def inline(self) -> tuple[str, str] | None:
        """The MIME type and base64 data of a ``data:`` URL; None for a URL the provider fetches."""
        match = DATA_URL.match(self.url)
        return (match["mime"], match["data"]) if match else None


Part = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn in OpenAI's shape: ``content`` is its text; ``parts`` keeps images in order."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    parts: tuple[Part, ...] = ()

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(part for part in self.parts if isinstance(part, ImagePart))


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A Chat Completions request; every parameter an OpenAI client may set is carried, none dropped."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    stop: tuple[str, ...] = ()
    top_p: float | None = None
    n: int | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None

    def requested(self) -> set[str]:
        """The parameters set to something other than OpenAI's default (a default asks for nothing)."""
        asked = {
            "temperature": self.temperature not in (None, 1),
            "top_p": self.top_p not in (None, 1),
            "n": self.n not in (None, 1),
            "seed": self.seed is not None,
            "logprobs": bool(self.logprobs),
            "top_logprobs": self.top_logprobs is not None,
            "presence_penalty": self.presence_penalty not in (None, 0),
            "frequency_penalty": self.frequency_penalty not in (None, 0),
            "logit_bias": bool(self.logit_bias),
            "user": self.user is not None,
            "parallel_tool_calls": self.parallel_tool_calls is False,
            "response_format": (self.response_format or {}).get("type", "text") != "text",
            "reasoning_effort": self.reasoning_effort is not None,
            "stop": bool(self.stop),
            "tools": bool(self.tools),
            "tool_choice": self.tool_choice is not None,
        }
        return {name for name, set_ in asked.items() if set_}

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The schema of a ``json_schema`` response format, if one was asked for."""
        if (self.response_format or {}).get("type") != "json_schema":
            return None
        spec = (self.response_format or {}).get("json_schema") or {}
        schema: dict[str, Any] = spec.get("schema") or {"type": "object"}
        return schema


def unsupported(provider: str, param: str, why: str = "") -> ProviderError:
    """The 400 for a parameter a provider cannot honour: refused, never dropped."""
    reason = f" ({why})" if why else ""
    return ProviderError(
        f"{param} is not supported for {provider} models{reason}.",
        400,
        False,
        None,
        "unsupported_parameter",
        param=param,
        details={"param": param, "provider": provider},
    )


def refuse_unsupported(provider: str, request: ChatRequest, supported: frozenset[str]) -> None:
    """Raise the first requested parameter the provider has no equivalent for (in a stable order)."""
    for param in sorted(request.requested() - supported):
        raise unsupported(provider, param)


@dataclass(slots=True)
class Delta:
    """A piece of the streamed answer; the last one carries ``finish_reason`` and, once known, usage."""

    content: str = ""
    tool_call: ToolCall | None = None
    tool_call_index: int = 0
    finish_reason: str | None = None
    choice: int = 0
    logprobs: dict[str, Any] | None = None
    refusal: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    # Parts of the counts above: prompt tokens read from or written to a cache, reasoning (thinking) tokens.
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """An image generation; ``size`` is OpenAI's ``WIDTHxHEIGHT`` (or ``auto``), None for the model's default."""

    model: str
    prompt: str
    n: int = 1
    size: str | None = None


@dataclass(frozen=True, slots=True)
class ImageResult:
    images: tuple[bytes, ...]
    input_tokens: int = 0
    mime_type: str = "image/png"


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    """Texts to embed, in order; ``dimensions`` asks for shorter vectors where the model can give them."""

    model: str
    texts: tuple[str, ...]
    dimensions: int | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """One vector per text, in the request's order; ``input_tokens`` is None when the provider reported none."""

    vectors: tuple[tuple[float, ...], ...]
    input_tokens: int | None = None


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
    param: str | None = None

    def __str__(self) -> str:
        return self.message


def unanswered_tool_result(tool_call_id: str | None) -> ProviderError:
    """A tool message whose ``tool_call_id`` no earlier assistant tool call has (every provider refuses it)."""
    return ProviderError(
        f"The tool message answers {tool_call_id!r}, which no earlier assistant tool call has.",
        400,
        False,
        None,
        "invalid_request",
        param="messages[].tool_call_id",
    )


class Provider(Protocol):
    """An LLM provider: streams chat completions and generates images."""

    name: str

    def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]: ...

    async def generate_images(self, request: ImageRequest) -> ImageResult: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """A provider that also has embedding models."""

    name: str

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult: ...


def classify_status(
    status: int, retry_after: str | None, body_code: str = "", reason: str = "", param: str | None = None
) -> ProviderError:
    """HTTP status → error class: 429 and 5xx retry (honouring Retry-After), quota and 4xx never do.

    ``reason`` is the provider's own message (already redacted): a refused request keeps it, so the caller
    learns e.g. that the context length was exceeded."""
    seconds = _seconds(retry_after)
    if status == 429 and body_code in ("insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"):
        return ProviderError("The provider's quota is exhausted.", 429, False, None, "quota_exhausted")
    if status == 429:
        return ProviderError("The provider is rate limiting us.", 429, True, seconds, "provider_rate_limited")
    if status >= 500 or status in (408, 409):
        return ProviderError(f"The provider failed ({status}).", 502, True, seconds, "provider_unavailable")
    if status in (401, 403):
        return ProviderError(f"The provider refused our credentials ({status}).", 502, False, None, "provider_auth")
    refused = f"The provider refused the request ({status})"
    return ProviderError(
        f"{refused}: {reason}" if reason else f"{refused}.",
        400,
        False,
        None,
        "invalid_request",
        details={"provider_code": body_code} if body_code else {},
        param=param,
    )


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
