"""OpenAI on the official ``openai`` SDK (streamed chat with usage in the last chunk; DALL·E-style images)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
from agentworks_platform.logging import Redactor

from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    EmbeddingRequest,
    EmbeddingResult,
    ImageRequest,
    ImageResult,
    Message,
    ProviderError,
    TextPart,
    Tool,
    ToolCall,
    classify_status,
    refuse_unsupported,
)


def _is_read_timeout(exc: Exception) -> bool:
    """A timeout of the SDK's HTTP client while the stream is read (raised by the client, not the SDK)."""
    return any(cls.__name__ == "TimeoutException" for cls in type(exc).__mro__)


def _error(exc: Exception, redactor: Redactor) -> ProviderError:
    if isinstance(exc, openai.APITimeoutError) or _is_read_timeout(exc):
        return ProviderError("OpenAI did not answer in time.", 504, True, None, "timeout")
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        nested = body.get("error")
        error: dict[str, Any] = nested if isinstance(nested, dict) else body
        return classify_status(
            exc.status_code,
            exc.response.headers.get("retry-after"),
            str(error.get("code") or ""),
            redactor.text(str(error.get("message") or ""))[:500],
            error.get("param") if isinstance(error.get("param"), str) else None,
        )
    return ProviderError(f"OpenAI connection failed: {type(exc).__name__}", 502, True, None, "provider_unavailable")


_DONE: dict[str, Any] = {}


def _chunk_of(line: str) -> dict[str, Any] | None:
    """One server-sent-events line of the stream: a chunk, ``_DONE``, or None for anything else."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return _DONE
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ProviderError("OpenAI sent a chunk that is not JSON.", 502, True, None, "provider_unavailable") from None
    if not isinstance(chunk, dict):
        return None
    error = chunk.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else None
        raise ProviderError(f"OpenAI failed mid-answer: {message or error}"[:300], 502, True, None, "provider_error")
    return chunk


def _content(message: Message) -> str | list[dict[str, Any]]:
    if not message.parts:
        return message.content
    return [
        {"type": "text", "text": part.text}
        if isinstance(part, TextPart)
        else {"type": "image_url", "image_url": {"url": part.url, **({"detail": part.detail} if part.detail else {})}}
        for part in message.parts
    ]


def to_openai(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {"role": message.role, "content": _content(message)}
    if message.tool_calls:
        body["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        body["tool_call_id"] = message.tool_call_id
    if message.name and message.role in ("system", "user", "assistant"):
        body["name"] = message.name
    return body


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


STREAMED_RAW = {"X-Stainless-Raw-Response": "stream"}
"""The SDK's own header for an answer handed over unread, as ``with_streaming_response`` sends it."""

# Passed as the client set them: OpenAI gives each its documented meaning.
PASSED_THROUGH = (
    "temperature",
    "top_p",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
    "response_format",
    "reasoning_effort",
    "n",
    "logprobs",
    "top_logprobs",
)
SUPPORTED = frozenset({*PASSED_THROUGH, "stop", "tools", "tool_choice", "parallel_tool_calls"})


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 60.0) -> None:
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)
        self._redactor = Redactor()
        self._redactor.register([api_key])

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        refuse_unsupported(self.name, request, SUPPORTED)
        params: dict[str, Any] = {
            "model": request.model,
            "messages": [to_openai(m) for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.max_tokens:
            params["max_completion_tokens"] = request.max_tokens
        for name in PASSED_THROUGH:
            value = getattr(request, name)
            if value is not None:
                params[name] = value
        if request.stop:
            params["stop"] = list(request.stop)
        if request.tools:
            params["tools"] = [_tool(t) for t in request.tools]
            if request.parallel_tool_calls is not None:
                params["parallel_tool_calls"] = request.parallel_tool_calls
        if request.tool_choice is not None:
            params["tool_choice"] = request.tool_choice
        return params

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        """The SDK sends the request and raises its errors; the chunks are read as plain JSON, which skips
        building a model object per chunk (most of the router's own time on a streamed answer). The body goes
        out as the router built it: ``chat.completions.create`` would walk it against the SDK's parameter types
        first, to rename nothing, a tenth of the router's CPU on a short answer."""
        try:
            response = await self._client.post(
                "/chat/completions",
                cast_to=httpx2.Response,
                body=self._params(request),
                options={"headers": STREAMED_RAW, "security": {"bearer_auth": True}},
            )
            try:
                done = False
                # Read to the end of the body even after [DONE]: a response closed early takes its
                # connection with it, and the next call would pay for a new one (a TLS handshake).
                async for line in response.aiter_lines():
                    chunk = None if done else _chunk_of(line)
                    if chunk is _DONE:
                        done = True
                    elif chunk is not None:
                        for delta in self._deltas(chunk):
                            yield delta
            finally:
                await response.aclose()
        except ProviderError:
            raise
        except Exception as exc:
            raise _error(exc, self._redactor) from None

    @staticmethod
    def _deltas(chunk: dict[str, Any]) -> list[Delta]:
        out: list[Delta] = []
        for choice in chunk.get("choices") or []:
            index = choice.get("index") or 0
            delta = choice.get("delta") or {}
            finish = choice.get("finish_reason")
            logprobs = choice.get("logprobs")
            if delta.get("content") or delta.get("refusal") or finish or logprobs:
                out.append(
                    Delta(
                        content=delta.get("content") or "",
                        finish_reason=finish,
                        choice=index,
                        logprobs=logprobs or None,
                        refusal=delta.get("refusal") or "",
                    )
                )
            for call in delta.get("tool_calls") or []:
                function = call.get("function") or {}
                out.append(
                    Delta(
                        tool_call=ToolCall(
                            call.get("id") or "", function.get("name") or "", function.get("arguments") or ""
                        ),
                        tool_call_index=call.get("index") or 0,
                        choice=index,
                    )
                )
        usage = chunk.get("usage")
        if usage:
            out.append(usage_delta(usage))
        return out

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        try:
            options: dict[str, Any] = {"size": request.size} if request.size else {}
            response = await self._client.images.generate(
                model=request.model, prompt=request.prompt, n=request.n, response_format="b64_json", **options
            )
        except Exception as exc:
            raise _error(exc, self._redactor) from None
        return ImageResult(tuple(base64.b64decode(item.b64_json or "") for item in response.data or []))

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        """Vectors as floats (the SDK asks for base64 on the wire and decodes it); ``dimensions`` as sent."""
        options: dict[str, Any] = {}
        if request.dimensions is not None:
            options["dimensions"] = request.dimensions
        if request.user is not None:
            options["user"] = request.user
        try:
            response = await self._client.embeddings.create(model=request.model, input=list(request.texts), **options)
        except Exception as exc:
            raise _error(exc, self._redactor) from None
        ordered = sorted(response.data, key=lambda item: item.index)
        return EmbeddingResult(tuple(tuple(item.embedding) for item in ordered), response.usage.prompt_tokens)

    async def aclose(self) -> None:
        await self._client.close()


def arguments_json(arguments: str) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def usage_delta(usage: dict[str, Any]) -> Delta:
    """OpenAI's usage: cached tokens are part of prompt_tokens, reasoning tokens part of completion_tokens."""
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return Delta(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        cached_input_tokens=prompt.get("cached_tokens") or 0,
        reasoning_tokens=completion.get("reasoning_tokens") or 0,
    )
