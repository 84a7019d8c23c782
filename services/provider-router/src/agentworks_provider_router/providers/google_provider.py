"""Google Gemini (text) and Nano Banana (Gemini image generation) on the official ``google-genai`` SDK."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

from agentworks_platform.logging import Redactor
from google import genai
from google.genai import errors, types

from agentworks_provider_router.providers.base import (
    ChatRequest,
    Delta,
    EmbeddingRequest,
    EmbeddingResult,
    ImagePart,
    ImageRequest,
    ImageResult,
    Message,
    ProviderError,
    ToolCall,
    classify_status,
    refuse_unsupported,
    unanswered_tool_result,
    unsupported,
)
from agentworks_provider_router.providers.openai_provider import arguments_json

FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}
# Gemini has no logit bias, end-user id or switch for parallel calls.
SUPPORTED = frozenset(
    {
        "n",
        "logprobs",
        "top_logprobs",
        "temperature",
        "top_p",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
        "reasoning_effort",
    }
)
EMBED_BATCH = 100  # texts per batchEmbedContents call
MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
THINKING_LEVELS = {"minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "xhigh": "XHIGH"}
# The sizes Gemini's image models make, one per aspect ratio (OpenAI's ``size`` names a size, Gemini a ratio).
ASPECT_RATIOS = {
    "1024x1024": "1:1",
    "832x1248": "2:3",
    "1248x832": "3:2",
    "864x1184": "3:4",
    "1184x864": "4:3",
    "896x1152": "4:5",
    "1152x896": "5:4",
    "768x1344": "9:16",
    "1344x768": "16:9",
    "1536x672": "21:9",
}
RESOLUTIONS = {"low": "MEDIA_RESOLUTION_LOW", "high": "MEDIA_RESOLUTION_HIGH"}


def _image_config(provider: str, size: str | None) -> types.ImageConfig | None:
    """OpenAI's ``size`` as the aspect ratio that makes exactly that size; any other size is refused."""
    if size in (None, "auto"):
        return None
    ratio = ASPECT_RATIOS.get(size or "")
    if ratio is None:
        raise unsupported(provider, "size", f"{size}; Gemini makes {', '.join(ASPECT_RATIOS)} or auto")
    return types.ImageConfig(aspect_ratio=ratio)


def _error(exc: Exception, redactor: Redactor) -> ProviderError:
    if isinstance(exc, errors.APIError):
        retry_after = None
        response = getattr(exc, "response", None)
        if response is not None and hasattr(response, "headers"):
            retry_after = response.headers.get("retry-after")
        reason = redactor.text(str(exc.message or ""))[:500]
        return classify_status(int(exc.code or 502), retry_after, reason=reason)
    if isinstance(exc, TimeoutError):
        return ProviderError("Gemini did not answer in time.", 504, True, None, "timeout")
    return ProviderError(f"Gemini connection failed: {type(exc).__name__}", 502, True, None, "provider_unavailable")


def _image(part: ImagePart) -> types.Part:
    inline = part.inline()
    if inline is None:
        raise unsupported("google", "messages[].content[].image_url", "only data: URLs; Gemini does not fetch URLs")
    mime, data = inline
    resolution = RESOLUTIONS.get(part.detail or "auto")
    return types.Part(
        inline_data=types.Blob(mime_type=mime, data=base64.b64decode(data)),
        media_resolution=types.PartMediaResolution(level=resolution) if resolution else None,
    )


def _parts(message: Message) -> list[types.Part]:
    if not message.parts:
        parts = [types.Part(text=message.content)] if message.content else []
    else:
        parts = [
            _image(part) if isinstance(part, ImagePart) else types.Part(text=part.text)
            for part in message.parts
            if isinstance(part, ImagePart) or part.text
        ]
    parts += [
        types.Part(function_call=types.FunctionCall(name=c.name, args=arguments_json(c.arguments)))
        for c in message.tool_calls
    ]
    return parts


def _function_response(message: Message, names: dict[str, str]) -> types.Part:
    name = names.get(message.tool_call_id or "")
    if name is None:
        raise unanswered_tool_result(message.tool_call_id)
    return types.Part(function_response=types.FunctionResponse(name=name, response={"output": message.content}))


def contents(messages: tuple[Message, ...]) -> list[types.Content]:
    """The conversation as Gemini turns: a tool result answers under its function's real name, and the
    results of one turn's parallel calls travel together in one user turn, as Gemini requires."""
    turns: list[types.Content] = []
    names: dict[str, str] = {}
    for message in messages:
        if message.role == "system":
            continue
        names.update({c.id: c.name for c in message.tool_calls})
        role = "model" if message.role == "assistant" else "user"
        parts = [_function_response(message, names)] if message.role == "tool" else _parts(message)
        if not parts:
            continue
        if turns and turns[-1].role == role and message.role == "tool" and _answers(turns[-1]):
            (turns[-1].parts or []).extend(parts)
        else:
            turns.append(types.Content(role=role, parts=parts))
    return turns


def _answers(turn: types.Content) -> bool:
    return all(part.function_response is not None for part in turn.parts or [])


def _tool_config(request: ChatRequest) -> types.ToolConfig | None:
    """tool_choice as Gemini's calling mode; a strict tool asks for validated calls (``VALIDATED``)."""
    choice = request.tool_choice
    if isinstance(choice, dict):
        config = types.FunctionCallingConfig(mode="ANY", allowed_function_names=[choice["function"]["name"]])
    elif choice is not None:
        mode = MODES[choice]
        if mode == "AUTO" and any(t.strict for t in request.tools):
            mode = "VALIDATED"
        config = types.FunctionCallingConfig(mode=mode)
    elif any(t.strict for t in request.tools):
        config = types.FunctionCallingConfig(mode="VALIDATED")
    else:
        return None
    return types.ToolConfig(function_calling_config=config)


def _output(request: ChatRequest) -> dict[str, Any]:
    kind = (request.response_format or {}).get("type")
    if kind == "json_object":
        return {"response_mime_type": "application/json"}
    if kind == "json_schema":
        return {"response_mime_type": "application/json", "response_json_schema": request.json_schema}
    return {}


def _thinking(effort: str | None) -> types.ThinkingConfig | None:
    if effort is None:
        return None
    if effort not in THINKING_LEVELS and effort != "none":
        raise unsupported("google", "reasoning_effort", f"{effort!r}; Gemini's highest level is 'xhigh'")
    if effort == "none":
        return types.ThinkingConfig(thinking_budget=0)
    return types.ThinkingConfig(thinking_level=THINKING_LEVELS[effort])


class GeminiProvider:
    """Gemini text models; ``name`` is the provider key this instance serves (``google`` or ``nano-banana``)."""

    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 60.0, name: str = "google") -> None:
        self.name = name
        options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(timeout * 1000))
        self._client = genai.Client(api_key=api_key, http_options=options)
        self._redactor = Redactor()
        self._redactor.register([api_key])

    def _config(self, request: ChatRequest) -> types.GenerateContentConfig:
        refuse_unsupported("google", request, SUPPORTED)
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        config: dict[str, Any] = {
            "system_instruction": system or None,
            "max_output_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": request.seed,
            "presence_penalty": request.presence_penalty,
            "frequency_penalty": request.frequency_penalty,
            "stop_sequences": list(request.stop) or None,
            "tool_config": _tool_config(request) if request.tools else None,
            "thinking_config": _thinking(request.reasoning_effort),
            "candidate_count": request.n if request.n not in (None, 1) else None,
            "response_logprobs": request.logprobs or None,
            "logprobs": request.top_logprobs if request.logprobs else None,
            **_output(request),
        }
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
        return types.GenerateContentConfig(**{k: v for k, v in config.items() if v is not None})

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        calls: dict[int, int] = {}  # tool calls so far, per candidate
        try:
            stream = await self._client.aio.models.generate_content_stream(
                model=request.model, contents=contents(request.messages), config=self._config(request)
            )
            async for chunk in stream:
                for candidate in chunk.candidates or []:
                    index = candidate.index or 0
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        if part.text and not part.thought:
                            yield Delta(content=part.text, choice=index)
                        if part.function_call:
                            call = part.function_call
                            # Ids unique across the conversation: a later turn on Claude needs them so.
                            call_id = call.id or f"call_{uuid.uuid4().hex[:24]}"
                            yield Delta(
                                tool_call=ToolCall(call_id, call.name or "", _json(call.args)),
                                tool_call_index=calls.get(index, 0),
                                choice=index,
                            )
                            calls[index] = calls.get(index, 0) + 1
                    if candidate.logprobs_result is not None:
                        yield Delta(choice=index, logprobs=openai_logprobs(candidate.logprobs_result))
                    if candidate.finish_reason:
                        finish = FINISH.get(str(candidate.finish_reason.value), "stop")
                        yield Delta(finish_reason="tool_calls" if calls.get(index) else finish, choice=index)
                usage = chunk.usage_metadata
                if usage is not None and usage.prompt_token_count is not None:
                    yield usage_delta(usage)
        except ProviderError:
            raise
        except Exception as exc:
            raise _error(exc, self._redactor) from None

    async def generate_images(self, request: ImageRequest) -> ImageResult:
        images: list[bytes] = []
        input_tokens = 0
        mime_type = "image/png"
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"], image_config=_image_config(self.name, request.size)
        )
        try:
            for _ in range(request.n):
                response = await self._client.aio.models.generate_content(
                    model=request.model, contents=request.prompt, config=config
                )
                if response.usage_metadata and response.usage_metadata.prompt_token_count:
                    input_tokens += response.usage_metadata.prompt_token_count
                for candidate in response.candidates or []:
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        if part.inline_data and part.inline_data.data:
                            images.append(part.inline_data.data)
                            mime_type = part.inline_data.mime_type or mime_type
        except Exception as exc:
            raise _error(exc, self._redactor) from None
        if not images:
            raise ProviderError("The image model returned no image.", 502, True, None, "no_image")
        return ImageResult(tuple(images), input_tokens, mime_type)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        """``batchEmbedContents`` calls of at most 100 texts each (the API's limit); ``dimensions`` becomes
        ``output_dimensionality``. The tokens are None unless every batch reported them."""
        if request.user is not None:
            raise unsupported("google", "user")
        config = types.EmbedContentConfig(output_dimensionality=request.dimensions)
        vectors: list[tuple[float, ...]] = []
        tokens: int | None = 0
        for start in range(0, len(request.texts), EMBED_BATCH):
            batch = request.texts[start : start + EMBED_BATCH]
            contents: list[types.ContentUnion] = [types.Content(parts=[types.Part(text=text)]) for text in batch]
            try:
                response = await self._client.aio.models.embed_content(
                    model=request.model, contents=contents, config=config
                )
            except Exception as exc:
                raise _error(exc, self._redactor) from None
            vectors += [tuple(item.values or ()) for item in response.embeddings or []]
            usage = response.usage_metadata
            reported = usage.prompt_token_count if usage else None
            tokens = None if tokens is None or reported is None else tokens + reported
        if len(vectors) != len(request.texts):
            raise ProviderError("Gemini returned a different number of embeddings.", 502, True, None, "provider_error")
        return EmbeddingResult(tuple(vectors), tokens)

    async def aclose(self) -> None:
        await self._client.aio.aclose()


def _json(args: Any) -> str:
    import json

    return json.dumps(args or {})


def usage_delta(usage: types.GenerateContentResponseUsageMetadata) -> Delta:
    """Gemini counts thinking apart from the candidates' tokens; cached content is part of the prompt count."""
    thoughts = usage.thoughts_token_count or 0
    return Delta(
        input_tokens=usage.prompt_token_count,
        output_tokens=(usage.candidates_token_count or 0) + thoughts,
        cached_input_tokens=usage.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )


def openai_logprobs(result: types.LogprobsResult) -> dict[str, Any]:
    """Gemini's chosen tokens and their top candidates as OpenAI's ``logprobs.content``."""
    tops = result.top_candidates or []
    content = []
    for position, chosen in enumerate(result.chosen_candidates or []):
        alternatives = (tops[position].candidates or []) if position < len(tops) else []
        content.append({**_token(chosen), "top_logprobs": [_token(alternative) for alternative in alternatives]})
    return {"content": content, "refusal": None}


def _token(candidate: types.LogprobsResultCandidate) -> dict[str, Any]:
    token = candidate.token or ""
    return {"token": token, "logprob": candidate.log_probability or 0.0, "bytes": list(token.encode())}
