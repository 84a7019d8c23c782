"""Anthropic on the official ``anthropic`` SDK: OpenAI messages, system prompts and tools translated both ways."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import anthropic
from agentworks_platform.logging import Redactor

from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    ImagePart,
    ImageRequest,
    ImageResult,
    Message,
    ProviderError,
    Tool,
    ToolCall,
    classify_status,
    refuse_unsupported,
    unanswered_tool_result,
    unsupported,
)
from agentworks_provider_router.providers.openai_provider import arguments_json

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
DEFAULT_MAX_TOKENS = 4096
# What the Messages API (version 2026-10-21) can honour; it has no sampling knobs (temperature, top_p), no
# seed, penalties, logit bias, log probabilities or several choices, so those are refused.
SUPPORTED = frozenset(
    {"stop", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "user"}
)
EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "max"}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def _error(exc: Exception, redactor: Redactor) -> ProviderError:
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderError("Anthropic did not answer in time.", 504, True, None, "timeout")
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        nested = body.get("error")
        error: dict[str, Any] = nested if isinstance(nested, dict) else {}
        reason = redactor.text(str(error.get("message") or ""))[:500]
        return classify_status(exc.status_code, exc.response.headers.get("retry-after"), reason=reason)
    return ProviderError(f"Anthropic connection failed: {type(exc).__name__}", 502, True, None, "provider_unavailable")


def _image(part: ImagePart) -> dict[str, Any]:
    if part.detail not in (None, "auto"):
        raise unsupported("anthropic", "messages[].content[].image_url.detail", "Claude picks the resolution itself")
    inline = part.inline()
    if inline is None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    mime, data = inline
    if mime not in IMAGE_TYPES:
        raise unsupported("anthropic", "messages[].content[].image_url", f"{mime} images")
    return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}


def _content_blocks(message: Message) -> list[dict[str, Any]]:
    if not message.parts:
        return [{"type": "text", "text": message.content}] if message.content else []
    return [
        _image(part) if isinstance(part, ImagePart) else {"type": "text", "text": part.text}
        for part in message.parts
        if isinstance(part, ImagePart) or part.text
    ]


def _blocks(message: Message, ids: dict[str, str]) -> list[dict[str, Any]]:
    if message.role == "tool":
        tool_use_id = ids.get(message.tool_call_id or "")
        if tool_use_id is None:
            raise unanswered_tool_result(message.tool_call_id)
        return [{"type": "tool_result", "tool_use_id": tool_use_id, "content": message.content}]
    blocks = _content_blocks(message)
    blocks += [
        {"type": "tool_use", "id": ids[c.id], "name": c.name, "input": arguments_json(c.arguments)}
        for c in message.tool_calls
    ]
    return blocks


class ToolUseIds:
    """Anthropic wants every ``tool_use`` id unique in the conversation and of its own alphabet; OpenAI
    clients may repeat ids across turns (or carry another provider's). A repeated or foreign id is renamed,
    and the tool results that answer it follow the rename."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self.current: dict[str, str] = {}

    def assistant_turn(self, message: Message) -> None:
        self.current = {}
        for call in message.tool_calls:
            given = call.id if TOOL_ID.match(call.id) else re.sub(r"[^a-zA-Z0-9_-]", "_", call.id)
            unique = given
            while unique in self._used:
                unique = f"{given}_{len(self._used)}"
            self._used.add(unique)
            self.current[call.id] = unique


def translate(messages: tuple[Message, ...]) -> tuple[str, list[dict[str, Any]]]:
    """System messages become ``system``; tool results are user turns; consecutive same-role turns merge;
    turns with nothing in them are left out (the API refuses empty content)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    ids = ToolUseIds()
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "assistant":
            ids.assistant_turn(message)
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message, ids.current)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    """OpenAI's tool_choice and parallel_tool_calls as one Anthropic ``tool_choice``."""
    choice = request.tool_choice
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, dict):
        picked: dict[str, Any] = {"type": "tool", "name": choice["function"]["name"]}
    elif choice == "required":
        picked = {"type": "any"}
    elif choice == "auto" or request.parallel_tool_calls is False:
        picked = {"type": "auto"}
    else:
        return None
    if request.parallel_tool_calls is False:
        picked["disable_parallel_tool_use"] = True
    return picked


def _tool(tool: Tool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
    if tool.strict is not None:
        spec["strict"] = tool.strict
    return spec


def _output_config(request: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if (request.response_format or {}).get("type") == "json_object":
        raise unsupported("anthropic", "response_format", "json_object; use json_schema")
    if request.json_schema is not None:
        config["format"] = {"type": "json_schema", "schema": request.json_schema}
    if request.reasoning_effort == "none":
        raise unsupported("anthropic", "reasoning_effort", "'none'; Claude decides when to think")
    if request.reasoning_effort is not None:
        config["effort"] = EFFORTS[request.reasoning_effort]
    return config


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 60.0) -> None:
        self._client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)
        self._redactor = Redactor()
        self._redactor.register([api_key])

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        refuse_unsupported(self.name, request, SUPPORTED)
        system, turns = translate(request.messages)
        params: dict[str, Any] = {
            "model": request.model,
            "messages": turns,
            "stream": True,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            params["system"] = system
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        if request.tools:
            params["tools"] = [_tool(t) for t in request.tools]
            if choice := _tool_choice(request):
                params["tool_choice"] = choice
        if config := _output_config(request):
            params["output_config"] = config
        if request.user is not None:
            params["metadata"] = {"user_id": request.user}
        return params

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        input_tokens = 0
        started = Delta()
        tool_index = -1
        try:
            stream = await self._client.messages.create(**self._params(request))
            async for event in stream:
                if event.type == "message_start":
                    started = prompt_usage(event.message.usage)
                    input_tokens = started.input_tokens or 0
                    yield started  # reported now, so a stream cut later is still billed its prompt
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    tool_index += 1
                    block = event.content_block
                    yield Delta(tool_call=ToolCall(block.id, block.name, ""), tool_call_index=tool_index)
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    yield Delta(content=event.delta.text)
                elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                    yield Delta(tool_call=ToolCall("", "", event.delta.partial_json), tool_call_index=tool_index)
                elif event.type == "message_delta":
                    yield Delta(
                        finish_reason=STOP_REASONS.get(event.delta.stop_reason or "", "stop"),
                        input_tokens=input_tokens,
                        output_tokens=event.usage.output_tokens,
                        cached_input_tokens=started.cached_input_tokens,
                        cache_write_tokens=started.cache_write_tokens,
                    )
        except ProviderError:
            raise
        except Exception as exc:
            raise _error(exc, self._redactor) from None

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        raise ProviderError(f"Anthropic has no image model {request.model!r}.", 400, False, None, "invalid_request")

    async def aclose(self) -> None:
        await self._client.close()


def prompt_usage(usage: Any) -> Delta:
    """Anthropic counts cache reads and writes apart from input_tokens; the router's input counts them all."""
    read = getattr(usage, "cache_read_input_tokens", None) or 0
    written = getattr(usage, "cache_creation_input_tokens", None) or 0
    return Delta(
        input_tokens=(usage.input_tokens or 0) + read + written, cached_input_tokens=read, cache_write_tokens=written
    )
