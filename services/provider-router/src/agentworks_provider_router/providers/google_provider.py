"""Google Gemini (text) and Nano Banana (Gemini image generation) on the official ``google-genai`` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from google import genai
from google.genai import errors, types

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

FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}


def _error(exc: Exception) -> ProviderError:
    if isinstance(exc, errors.APIError):
        retry_after = None
        response = getattr(exc, "response", None)
        if response is not None and hasattr(response, "headers"):
            retry_after = response.headers.get("retry-after")
        return classify_status(int(exc.code or 502), retry_after)
    if isinstance(exc, TimeoutError):
        return ProviderError("Gemini did not answer in time.", 504, True, None, "timeout")
    return ProviderError(f"Gemini connection failed: {type(exc).__name__}", 502, True, None, "provider_unavailable")


def _content(message: Message) -> types.Content:
    role = "model" if message.role == "assistant" else "user"
    if message.role == "tool":
        return types.Content(
            role="user",
            parts=[
                types.Part(
                    function_response=types.FunctionResponse(
                        name=message.name or "tool", response={"result": message.content}
                    )
                )
            ],
        )
    parts = [types.Part(text=message.content)] if message.content else []
    parts += [
        types.Part(function_call=types.FunctionCall(name=c.name, args=arguments_json(c.arguments)))
        for c in message.tool_calls
    ]
    return types.Content(role=role, parts=parts)


class GeminiProvider:
    """Gemini text models; ``name`` is the provider key this instance serves (``google`` or ``nano-banana``)."""

    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 60.0, name: str = "google") -> None:
        self.name = name
        options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(timeout * 1000))
        self._client = genai.Client(api_key=api_key, http_options=options)

    def _config(self, request: ChatRequest) -> types.GenerateContentConfig:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        config: dict[str, Any] = {}
        if system:
            config["system_instruction"] = system
        if request.max_tokens:
            config["max_output_tokens"] = request.max_tokens
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.stop:
            config["stop_sequences"] = list(request.stop)
        if request.tools:
            config["tools"] = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=t.name, description=t.description, parameters_json_schema=t.parameters
                        )
                        for t in request.tools
                    ]
                )
            ]
        return types.GenerateContentConfig(**config)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        contents = [_content(m) for m in request.messages if m.role != "system"]
        calls = 0
        try:
            stream = await self._client.aio.models.generate_content_stream(
                model=request.model, contents=contents, config=self._config(request)
            )
            async for chunk in stream:
                for candidate in chunk.candidates or []:
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        if part.text:
                            yield Delta(content=part.text)
                        if part.function_call:
                            call = part.function_call
                            yield Delta(
                                tool_call=ToolCall(f"call_{calls}", call.name or "", _json(call.args)),
                                tool_call_index=calls,
                            )
                            calls += 1
                    if candidate.finish_reason:
                        reason = "tool_calls" if calls else FINISH.get(str(candidate.finish_reason.value), "stop")
                        yield Delta(finish_reason=reason)
                usage = chunk.usage_metadata
                if usage is not None and usage.prompt_token_count is not None:
                    yield Delta(input_tokens=usage.prompt_token_count, output_tokens=usage.candidates_token_count or 0)
        except Exception as exc:
            raise _error(exc) from None

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        images: list[bytes] = []
        input_tokens = 0
        try:
            for _ in range(request.n):
                response = await self._client.aio.models.generate_content(
                    model=request.model,
                    contents=request.prompt,
                    config=types.GenerateContentConfig(response_modalities=["IMAGE"]),
                )
                if response.usage_metadata and response.usage_metadata.prompt_token_count:
                    input_tokens += response.usage_metadata.prompt_token_count
                for candidate in response.candidates or []:
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        if part.inline_data and part.inline_data.data:
                            images.append(part.inline_data.data)
        except Exception as exc:
            raise _error(exc) from None
        if not images:
            raise ProviderError("The image model returned no image.", 502, True, None, "no_image")
        return ImageResult(tuple(images), input_tokens)

    async def aclose(self) -> None:
        await self._client.aio.aclose()


def _json(args: Any) -> str:
    import json

    return json.dumps(args or {})
