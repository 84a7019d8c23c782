"""``POST /v1/chat/completions`` (streamed as server-sent events, usage in a final chunk on request) and
``POST /v1/images/generations``, in OpenAI's wire format, so any OpenAI client can use the router."""

from __future__ import annotations

import base64
import time
from typing import Annotated, Any

from agentworks_platform.app import allow_callers
from agentworks_platform.errors import AppError, error_response_doc
from agentworks_platform.event_stream import event_stream
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
from agentworks_provider_router.chat import service
from agentworks_provider_router.chat.schemas import (
    ChatCompletionChunk,
    ChatCompletionIn,
    ImageGenerationIn,
    StreamFailure,
)
from agentworks_provider_router.providers.base import ImageRequest, ProviderError
from agentworks_provider_router.routing import Outcome

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
# How a call is refused before its answer starts (``calls.refusal``); a client tells them apart by the code.
CALL_REFUSALS: dict[int | str, dict[str, Any]] = {
    status: error_response_doc(description)
    for status, description in {
        404: "No provider serves the model here (``model_not_found``): it is unknown, has no price in force, or "
        "its provider is not configured.",
        429: "The provider's rate limit or quota refused the call; retry after ``Retry-After`` seconds.",
        502: "The provider failed.",
        503: "No model of the chain could answer: its circuit is open (``circuit_open``, retry after "
        "``Retry-After`` seconds) or every provider failed. ``x-should-retry: false`` says providers were called "
        "(and their attempts recorded).",
        504: "The provider did not answer in time.",
    }.items()
}


@router.post(
    "/chat/completions",
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS))],
    summary="Chat completion, streamed or not (OpenAI format)",
    responses={
        200: {
            "description": "The completion; streamed (``stream: true``), one chunk a ``data:`` line, then "
            "``data: [DONE]``",
            "content": event_stream(ChatCompletionChunk, StreamFailure),
        },
        **CALL_REFUSALS,
    },
)
async def chat_completions(body: ChatCompletionIn, request: Request) -> Any:
    outcome, stream, first = await opened_chat(request, body.normalised(), body.metadata)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            service.chunks(stream, first, outcome, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", **answered_by(outcome)},
        )
    try:
        answer = await service.completion(stream, first, outcome, bool(body.logprobs))
    except ProviderError as exc:
        raise refusal(exc, outcome) from None
    return JSONResponse(answer, headers=answered_by(outcome))


@router.post(
    "/images/generations",
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS))],
    summary="Generate images (OpenAI format; base64 results, or URLs of the router's copies)",
)
async def images_generations(body: ImageGenerationIn, request: Request) -> JSONResponse:
    body.refuse_unknown_parameters()
    meta = call_meta(request, body.metadata)
    outcome = Outcome()
    try:
        request_ = ImageRequest(body.model, body.prompt, body.n, body.size)
        result = await router_of(request).images(request_, meta, outcome)
    except ProviderError as exc:
        raise refusal(exc, outcome) from None
    if body.response_format == "url":
        blobs = blobs_of(request)
        names = [await service.keep_image(blobs, meta.workspace_id, image, result.mime_type) for image in result.images]
        data = [{"url": link_base(request, "image_file", image_file=name)} for name in names]
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


@router.get(
    "/images/files/{image_file}",
    name="image_file",
    # Core serves a card's generated images to the people of its workspace, naming that workspace.
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS, "core"))],
    summary="An image generated with response_format url",
    response_class=Response,
    responses={
        200: {"description": "The image", "content": {mime: {} for mime in service.IMAGE_TYPES}},
        404: {"description": "No such image"},
    },
)
async def image_file(image_file: Annotated[str, Path(pattern=service.IMAGE_FILE)], request: Request) -> Response:
    kept = await service.kept_image(blobs_of(request), reader_workspace(request), image_file)
    if kept is None:
        raise AppError("No such image.", code="not_found", status_code=404)
    data, media_type = kept
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


@router.get(
    "/health/providers",
    dependencies=[Depends(allow_callers("operator"))],
    summary="Circuit state and load of every provider",
)
async def provider_health(request: Request) -> dict[str, Any]:
    return router_of(request).health()
