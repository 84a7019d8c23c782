"""``POST /v1/chat/completions`` (streamed as server-sent events, usage in a final chunk on request) and
``POST /v1/images/generations``, in OpenAI's wire format, so any OpenAI client can use the router."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from agentworks_platform.app import allow_callers
from agentworks_platform.errors import AppError
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from agentworks_provider_router.calls import (
    OPENAI_API_CALLERS,
    answered_by,
    blobs_of,
    call_meta,
    extension,
    link_base,
    opened_chat,
    reader_workspace,
    refusal,
    router_of,
)
from agentworks_provider_router.chat.schemas import ChatCompletionIn, ImageGenerationIn
from agentworks_provider_router.providers.base import Delta, ImageRequest, ProviderError, ToolCall
from agentworks_provider_router.routing import Outcome

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


def _chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish: str | None,
    index: int = 0,
    logprobs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [choice],
    }


def _sse_data(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body)}\n\n"


def _usage(outcome: Outcome) -> dict[str, Any]:
    return {
        "prompt_tokens": outcome.input_tokens,
        "completion_tokens": outcome.output_tokens,
        "total_tokens": outcome.input_tokens + outcome.output_tokens,
        "prompt_tokens_details": {"cached_tokens": outcome.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": outcome.reasoning_tokens},
    }


def _usage_only(delta: Delta) -> bool:
    """A delta that only reports token counts: it becomes usage, not a chunk of its own."""
    return not (delta.content or delta.tool_call is not None or delta.finish_reason or delta.logprobs)


def _delta_json(delta: Delta, first: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"role": "assistant"} if first else {}
    if delta.content:
        body["content"] = delta.content
    if delta.tool_call is not None:
        body["tool_calls"] = [_tool_call_delta(delta.tool_call, delta.tool_call_index)]
    return body


def _tool_call_delta(call: ToolCall, index: int) -> dict[str, Any]:
    """A call's first delta names it (id, type, function name); its later deltas carry only more arguments,
    as OpenAI streams them: the SDKs' stream helpers refuse a call whose name changes to ``""`` mid-way."""
    function = {"name": call.name, "arguments": call.arguments} if call.name else {"arguments": call.arguments}
    opening = {"id": call.id, "type": "function"} if call.id else {}
    return {"index": index, **opening, "function": function}


@router.post(
    "/chat/completions",
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS))],
    summary="Chat completion, streamed or not (OpenAI format)",
)
async def chat_completions(body: ChatCompletionIn, request: Request) -> Any:
    outcome, stream, first = await opened_chat(request, body.normalised(), body.metadata)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _sse(stream, first, completion_id, created, outcome, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", **answered_by(outcome)},
        )
    return await _aggregate(stream, first, completion_id, created, outcome, bool(body.logprobs))


async def _sse(
    stream: AsyncGenerator[Delta, None],
    first: Delta,
    completion_id: str,
    created: int,
    outcome: Outcome,
    include_usage: bool,
) -> AsyncIterator[str]:
    """The answer as chunks. The ``choices: []`` usage chunk is sent only when the client asked for it with
    ``stream_options.include_usage``, as OpenAI does; it carries the ``agentworks`` extension (cost, who
    answered), which otherwise rides on the last finishing chunk, held back until the stream has ended."""
    delta, started = first, set[int]()  # the choices whose first chunk (with the role) was sent
    finishing: list[dict[str, Any]] = []
    try:
        while True:
            if not _usage_only(delta) or not started:
                opening = delta.choice not in started
                chunk = _chunk(
                    completion_id,
                    created,
                    outcome.model,
                    _delta_json(delta, opening),
                    delta.finish_reason,
                    delta.choice,
                    delta.logprobs,
                )
                started.add(delta.choice)
                if delta.finish_reason:
                    finishing.append(chunk)
                else:
                    yield _sse_data(chunk)
            delta = await anext(stream)
    except StopAsyncIteration:
        pass
    except ProviderError as exc:
        for chunk in finishing:
            yield _sse_data(chunk)
        yield f"data: {json.dumps({'error': {'code': exc.code, 'message': exc.message}})}\n\n"
        return
    finally:
        await stream.aclose()  # a client that went away: the router records the call as cancelled
    if finishing and not include_usage:
        finishing[-1]["agentworks"] = extension(outcome)
    for chunk in finishing:
        yield _sse_data(chunk)
    if include_usage:
        final = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": outcome.model,
            "choices": [],
            "usage": _usage(outcome),
            "agentworks": extension(outcome),
        }
        yield _sse_data(final)
    yield "data: [DONE]\n\n"


@dataclass
class _Choice:
    """One choice of a non-streamed answer, gathered from its deltas."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: list[Any] = field(default_factory=list)  # log probabilities, one entry a token
    finish_reason: str | None = None

    def take(self, delta: Delta) -> None:
        self.text.append(delta.content)
        self.finish_reason = delta.finish_reason or self.finish_reason
        self.tokens += (delta.logprobs or {}).get("content") or []
        if delta.tool_call is not None:
            call = self.calls.setdefault(
                delta.tool_call_index,
                {"id": delta.tool_call.id, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            call["id"] = call["id"] or delta.tool_call.id
            call["function"]["name"] += delta.tool_call.name
            call["function"]["arguments"] += delta.tool_call.arguments

    def json(self, index: int, finish_reason: str, logprobs: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.calls:
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        return {
            "index": index,
            "message": message,
            "finish_reason": self.finish_reason or finish_reason,
            "logprobs": {"content": self.tokens, "refusal": None} if logprobs else None,
        }


async def _aggregate(
    stream: AsyncIterator[Delta], first: Delta, completion_id: str, created: int, outcome: Outcome, logprobs: bool
) -> JSONResponse:
    choices: dict[int, _Choice] = {}
    try:
        delta = first
        while True:
            choices.setdefault(delta.choice, _Choice()).take(delta)
            delta = await anext(stream)
    except StopAsyncIteration:
        pass
    except ProviderError as exc:
        raise refusal(exc, outcome) from None
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": outcome.model,
            "choices": [choices[i].json(i, outcome.finish_reason, logprobs) for i in sorted(choices)],
            "usage": _usage(outcome),
            "agentworks": extension(outcome),
        },
        headers=answered_by(outcome),
    )


@router.post(
    "/images/generations",
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS))],
    summary="Generate images (OpenAI format; base64 results, or URLs of the router's copies)",
)
async def images_generations(body: ImageGenerationIn, request: Request) -> JSONResponse:
    body.refuse_unknown_parameters()
    routing = router_of(request)
    meta = call_meta(request, body.metadata)
    outcome = Outcome()
    try:
        result = await routing.images(ImageRequest(body.model, body.prompt, body.n, body.size), meta, outcome)
    except ProviderError as exc:
        raise refusal(exc, outcome) from None
    if body.response_format == "url":
        data = [{"url": await _kept(request, meta.workspace_id, image, result.mime_type)} for image in result.images]
    else:
        data = [{"b64_json": base64.b64encode(image).decode()} for image in result.images]
    return JSONResponse(
        {
            "created": int(time.time()),
            "data": data,
            "usage": {"input_tokens": outcome.input_tokens, "images": len(result.images)},
            "agentworks": extension(outcome),
        },
        headers=answered_by(outcome),
    )


IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}
IMAGE_FILE = r"^[0-9a-f]{32}\.(png|jpeg|webp)$"


def _image_key(workspace_id: uuid.UUID, name: str) -> str:
    return f"images/{workspace_id}/{name}"


async def _kept(request: Request, workspace_id: uuid.UUID, image: bytes, mime_type: str) -> str:
    """Keep the image in the blobs port under its workspace and an unguessable name; its URL is the route that
    serves it, which answers that workspace only."""
    name = f"{uuid.uuid4().hex}.{IMAGE_TYPES.get(mime_type, 'png')}"
    await blobs_of(request).put(_image_key(workspace_id, name), image, mime_type)
    return link_base(request, "image_file", image_file=name)


@router.get(
    "/images/files/{image_file}",
    name="image_file",
    # Core serves a card's generated images to the people of its workspace, naming that workspace.
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS, "core"))],
    summary="An image generated with response_format url",
    response_class=Response,
    responses={
        200: {"description": "The image", "content": {mime: {} for mime in IMAGE_TYPES}},
        404: {"description": "No such image"},
    },
)
async def image_file(image_file: Annotated[str, Path(pattern=IMAGE_FILE)], request: Request) -> Response:
    data = await blobs_of(request).get(_image_key(reader_workspace(request), image_file))
    if data is None:
        raise AppError("No such image.", code="not_found", status_code=404)
    extension_type = {kind: mime for mime, kind in IMAGE_TYPES.items()}[image_file.rsplit(".", 1)[1]]
    return Response(data, media_type=extension_type, headers={"Cache-Control": "private, max-age=3600"})


@router.get(
    "/health/providers",
    dependencies=[Depends(allow_callers("operator"))],
    summary="Circuit state and load of every provider",
)
async def provider_health(request: Request) -> dict[str, Any]:
    return router_of(request).health()
