"""Anthropic on the official ``anthropic`` SDK: OpenAI messages, system prompts and tools translated both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    ImageRequest,
    ImageResult,
    Message,
    ProviderError,
    ToolCall,
    classify_status,
)
from agentworks_provider_router.providers.openai_provider import arguments_json

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
DEFAULT_MAX_TOKENS = 4096


def _error(exc: Exception) -> ProviderError:
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderError("Anthropic did not answer in time.", 504, True, None, "timeout")
    if isinstance(exc, anthropic.APIStatusError):
        return classify_status(exc.status_code, exc.response.headers.get("retry-after"))
    return ProviderError(f"Anthropic connection failed: {type(exc).__name__}", 502, True, None, "provider_unavailable")


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [{"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.content}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
    blocks += [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": arguments_json(c.arguments)}
        for c in message.tool_calls
    ]
    return blocks


def translate(messages: tuple[Message, ...]) -> tuple[str, list[dict[str, Any]]]:
    """System messages become ``system``; tool results are user turns; consecutive same-role turns merge."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 60.0) -> None:
        self._client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        system, turns = translate(request.messages)
        params: dict[str, Any] = {
            "model": request.model,
            "messages": turns,
            "stream": True,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            params["system"] = system
        if request.temperature is not None:
            params["temperature"] = min(request.temperature, 1.0)
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
            ]
        return params

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        input_tokens = 0
        tool_index = -1
        try:
            stream = await self._client.messages.create(**self._params(request))
            async for event in stream:
                if event.type == "message_start":
                    input_tokens = event.message.usage.input_tokens
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
                    )
        except Exception as exc:
            raise _error(exc) from None

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        raise ProviderError(f"Anthropic has no image model {request.model!r}.", 400, False, None, "invalid_request")

    async def aclose(self) -> None:
        await self._client.close()
