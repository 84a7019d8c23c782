"""The validation rules the real provider APIs apply to a request, as the fakes enforce them.

Each check returns the problem the real API would answer 400 with, or None when the request is valid. They
follow the providers' documentation: Anthropic's Messages API (version 2026-10-21, which has no sampling
parameters), Gemini's ``generateContent`` and OpenAI's Chat Completions. A translation bug in an adapter
therefore fails a test instead of passing a lenient fake.
"""

from __future__ import annotations

import re
from typing import Any

ANTHROPIC_FIELDS = {
    "model",
    "messages",
    "max_tokens",
    "system",
    "stop_sequences",
    "stream",
    "tools",
    "tool_choice",
    "output_config",
    "thinking",
    "metadata",
    "service_tier",
}
ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
EFFORTS = {"low", "medium", "high", "xhigh", "max"}

GEMINI_TOP = {"contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "safetySettings"}
GEMINI_CONFIG = {
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "presencePenalty",
    "frequencyPenalty",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "thinkingConfig",
    "responseModalities",
    "responseLogprobs",
    "logprobs",
    "imageConfig",
}
GEMINI_ASPECT_RATIOS = {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}
GEMINI_PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse"}
GEMINI_MODES = {"AUTO", "ANY", "NONE", "VALIDATED"}

OPENAI_FIELDS = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "n",
    "seed",
    "logprobs",
    "top_logprobs",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "stop",
    "metadata",
}


# ---- Anthropic ----


def anthropic(body: dict[str, Any]) -> str | None:
    for name in body:
        if name not in ANTHROPIC_FIELDS:
            return f"{name}: Extra inputs are not permitted"
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    return (
        _anthropic_turns(messages)
        or _anthropic_tools(body)
        or _anthropic_output(body.get("output_config"))
        or _anthropic_metadata(body.get("metadata"))
    )


def _anthropic_turns(messages: list[dict[str, Any]]) -> str | None:
    seen_ids: set[str] = set()
    pending: list[str] = []  # tool_use ids of the last assistant turn, to be answered next
    for n, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant"):
            return f"messages.{n}.role: Input should be 'user' or 'assistant'"
        if n and messages[n - 1].get("role") == role:
            return f"messages.{n}: roles must alternate between 'user' and 'assistant'"
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list) or not content:
            return f"messages.{n}: all messages must have non-empty content"
        problem = _anthropic_blocks(n, content)
        if problem:
            return problem
        results = [b["tool_use_id"] for b in content if b.get("type") == "tool_result"]
        if pending:
            if role != "user" or sorted(results) != sorted(pending):
                return (
                    f"messages.{n}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    + ", ".join(sorted(set(pending) - set(results)))
                )
            if [b.get("type") for b in content[: len(results)]] != ["tool_result"] * len(results):
                return f"messages.{n}: tool_result blocks must come first in the user message"
        elif results:
            return f"messages.{n}: unexpected `tool_use_id` found in `tool_result` blocks: {results[0]}"
        uses = [b["id"] for b in content if b.get("type") == "tool_use"]
        for use in uses:
            if use in seen_ids:
                return f"messages.{n}: `tool_use` ids must be unique: {use}"
            seen_ids.add(use)
        pending = uses
    return None


def _anthropic_blocks(n: int, content: list[dict[str, Any]]) -> str | None:
    for m, block in enumerate(content):
        where = f"messages.{n}.content.{m}"
        kind = block.get("type")
        if kind == "text" and not (isinstance(block.get("text"), str) and block["text"]):
            return f"{where}: text content blocks must be non-empty"
        if kind == "tool_use" and not (
            ANTHROPIC_ID.match(str(block.get("id", ""))) and isinstance(block.get("input"), dict)
        ):
            return f"{where}.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
        if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
            return f"{where}.tool_use_id: Field required"
        if kind == "image":
            problem = _anthropic_image(where, block.get("source") or {})
            if problem:
                return problem
        if kind not in ("text", "tool_use", "tool_result", "image"):
            return f"{where}.type: Input tag '{kind}' does not match any of the expected tags"
    return None


def _anthropic_image(where: str, source: dict[str, Any]) -> str | None:
    if source.get("type") == "base64":
        if source.get("media_type") not in IMAGE_TYPES or not source.get("data"):
            return f"{where}.source.media_type: Input should be one of {sorted(IMAGE_TYPES)}"
        return None
    if source.get("type") == "url" and str(source.get("url", "")).startswith(("http://", "https://")):
        return None
    return f"{where}.source: Input tag does not match any of the expected tags"


def _anthropic_tools(body: dict[str, Any]) -> str | None:
    tools = body.get("tools") or []
    names = set()
    for n, tool in enumerate(tools):
        if not TOOL_NAME.match(str(tool.get("name", ""))):
            return f"tools.{n}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        if (tool.get("input_schema") or {}).get("type") != "object":
            return f"tools.{n}.input_schema.type: Input should be 'object'"
        if set(tool) - {"name", "description", "input_schema", "strict", "type", "cache_control"}:
            return f"tools.{n}: Extra inputs are not permitted"
        names.add(tool["name"])
    choice = body.get("tool_choice")
    if choice is None:
        return None
    if choice.get("type") not in ("auto", "any", "tool", "none"):
        return "tool_choice.type: Input tag does not match any of the expected tags"
    if set(choice) - {"type", "name", "disable_parallel_tool_use"}:
        return "tool_choice: Extra inputs are not permitted"
    if choice["type"] == "tool" and choice.get("name") not in names:
        return f"tool_choice.name: no tool named {choice.get('name')!r}"
    if choice["type"] == "none" and "disable_parallel_tool_use" in choice:
        return "tool_choice.disable_parallel_tool_use: Extra inputs are not permitted"
    return None


def _anthropic_output(config: Any) -> str | None:
    if config is None:
        return None
    if set(config) - {"effort", "format"}:
        return "output_config: Extra inputs are not permitted"
    if "effort" in config and config["effort"] not in EFFORTS:
        return f"output_config.effort: Input should be one of {sorted(EFFORTS)}"
    form = config.get("format")
    if form is not None and (form.get("type") != "json_schema" or not isinstance(form.get("schema"), dict)):
        return "output_config.format: a json_schema with a schema is required"
    return None


def _anthropic_metadata(metadata: Any) -> str | None:
    if metadata is not None and set(metadata) - {"user_id"}:
        return "metadata: Extra inputs are not permitted"
    return None


# ---- Gemini ----


def gemini(body: dict[str, Any]) -> str | None:
    for name in body:
        if name not in GEMINI_TOP:
            return f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
    config = body.get("generationConfig") or {}
    for name in config:
        if name not in GEMINI_CONFIG:
            return f"Invalid JSON payload received. Unknown name \"{name}\" at 'generation_config'."
    if "responseJsonSchema" in config and config.get("responseMimeType") != "application/json":
        return "responseJsonSchema requires responseMimeType application/json"
    if "logprobs" in config and not config.get("responseLogprobs"):
        return "logprobs is only valid if responseLogprobs is true"
    if not 0 <= config.get("logprobs", 0) <= 20:
        return "logprobs must be in the range [0, 20]"
    if not 1 <= config.get("candidateCount", 1) <= 8:
        return "candidateCount must be in the range [1, 8]"
    image = config.get("imageConfig")
    if image is not None and (
        set(image) - {"aspectRatio", "imageSize"} or image.get("aspectRatio") not in GEMINI_ASPECT_RATIOS
    ):
        return f"Invalid value at 'generation_config.image_config': {image}"
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    return _gemini_turns(contents) or _gemini_tool_config(body)


def _gemini_turns(contents: list[dict[str, Any]]) -> str | None:
    calls: list[str] = []  # function names the previous model turn called
    for n, content in enumerate(contents):
        role, parts = content.get("role"), content.get("parts")
        if role not in ("user", "model"):
            return f"* GenerateContentRequest.contents[{n}].role: must be 'user' or 'model'"
        if not isinstance(parts, list) or not parts:
            return f"* GenerateContentRequest.contents[{n}].parts: contents.parts must not be empty."
        for m, part in enumerate(parts):
            data = [key for key in part if key in GEMINI_PART_DATA]
            if len(data) != 1:
                where = f"* GenerateContentRequest.contents[{n}].parts[{m}].data"
                return f"{where}: required oneof field 'data' must have one initialized field"
        responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
        if calls:
            names = sorted(str(r.get("name")) for r in responses)
            if role != "user" or len(responses) != len(calls):
                return (
                    "Please ensure that the number of function response parts is equal to the number of "
                    "function call parts of the function call turn."
                )
            if names != sorted(calls):
                return f"* function response names {names} do not match the function calls {sorted(calls)}"
        elif responses:
            return "Please ensure that function response turn comes immediately after a function call turn."
        for response in responses:
            if not isinstance(response.get("response"), dict):
                return f"* GenerateContentRequest.contents[{n}]: function_response.response must be an object"
        calls = [str(p["functionCall"].get("name")) for p in parts if "functionCall" in p]
    return None


def _gemini_tool_config(body: dict[str, Any]) -> str | None:
    declared = {
        str(declaration.get("name"))
        for tool in body.get("tools") or []
        for declaration in tool.get("functionDeclarations") or []
    }
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig")
    if calling is None:
        return None
    if calling.get("mode") not in GEMINI_MODES:
        return f"Invalid value at 'tool_config.function_calling_config.mode': {calling.get('mode')}"
    allowed = calling.get("allowedFunctionNames")
    if allowed is not None and (calling["mode"] not in ("ANY", "VALIDATED") or set(allowed) - declared):
        return "allowed_function_names may only name declared functions, with mode ANY or VALIDATED"
    return None


GEMINI_EMBED_FIELDS = {"model", "content", "taskType", "title", "outputDimensionality"}
GEMINI_EMBED_BATCH = 100
GEMINI_EMBED_MAX_DIMENSIONS = 3072


def gemini_embedding(model: str, body: dict[str, Any], batch: bool) -> str | None:
    """``models/{model}:batchEmbedContents`` (``{"requests": [...]}``) or ``:embedContent`` (one request)."""
    if not batch:
        return _gemini_embed_request("EmbedContentRequest", model, body, required_model=False)
    for name in body:
        if name != "requests":
            return f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return "* BatchEmbedContentsRequest.requests: requests is not specified"
    if len(requests) > GEMINI_EMBED_BATCH:
        return f"* BatchEmbedContentsRequest.requests: at most {GEMINI_EMBED_BATCH} requests can be in one batch"
    for n, request in enumerate(requests):
        problem = _gemini_embed_request(f"BatchEmbedContentsRequest.requests[{n}]", model, request, True)
        if problem:
            return problem
    return None


def _gemini_embed_request(where: str, model: str, request: dict[str, Any], required_model: bool) -> str | None:
    for name in request:
        if name not in GEMINI_EMBED_FIELDS:
            return f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
    named = request.get("model")
    if (required_model or named is not None) and named != f"models/{model}":
        return f"* {where}.model: Model name in the request must match the model in the URL (models/{model})"
    parts = (request.get("content") or {}).get("parts")
    if not isinstance(parts, list) or not parts:
        return f"* {where}.content: content is not specified"
    if any(set(part) != {"text"} or not isinstance(part["text"], str) for part in parts):
        return f"* {where}.content.parts: only text parts can be embedded"
    dimensions = request.get("outputDimensionality")
    if dimensions is not None and not (isinstance(dimensions, int) and 1 <= dimensions <= GEMINI_EMBED_MAX_DIMENSIONS):
        return f"* {where}.output_dimensionality: must be between 1 and {GEMINI_EMBED_MAX_DIMENSIONS}"
    if "title" in request and request.get("taskType") != "RETRIEVAL_DOCUMENT":
        return f"* {where}.title: a title is only allowed with task type RETRIEVAL_DOCUMENT"
    return None


# ---- OpenAI ----


def openai(body: dict[str, Any]) -> str | None:
    for name in body:
        if name not in OPENAI_FIELDS:
            return f"Unrecognized request argument supplied: {name}"
    if "max_tokens" in body and "max_completion_tokens" in body:
        return "max_tokens and max_completion_tokens cannot both be set"
    if "parallel_tool_calls" in body and not body.get("tools"):
        return "parallel_tool_calls is only allowed when 'tools' are specified."
    if "top_logprobs" in body and not body.get("logprobs"):
        return "logprobs must be set to true if top_logprobs is set"
    if not 0 <= body.get("top_logprobs", 0) <= 20:
        return "top_logprobs must be between 0 and 20"
    if not 1 <= body.get("n", 1) <= 128:
        return "n must be between 1 and 128"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    answered: set[str] = set()
    for n, message in enumerate(messages):
        if message.get("role") == "tool" and message.get("tool_call_id") not in answered:
            return (
                f"messages.[{n}].role: messages with role 'tool' must be a response to a preceeding message "
                "with 'tool_calls'."
            )
        if message.get("tool_calls"):
            answered = {call["id"] for call in message["tool_calls"]}
    return None


OPENAI_EMBED_FIELDS = {"model", "input", "dimensions", "encoding_format", "user"}


def openai_embedding(body: dict[str, Any]) -> str | None:
    for name in body:
        if name not in OPENAI_EMBED_FIELDS:
            return f"Unrecognized request argument supplied: {name}"
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        return "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
    if "dimensions" in body and not str(body.get("model", "")).startswith("text-embedding-3"):
        return "This model does not support specifying dimensions."
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "encoding_format must be 'float' or 'base64'"
    return None
