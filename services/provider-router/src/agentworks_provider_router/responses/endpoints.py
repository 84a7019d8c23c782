"""``POST /v1/responses``: the chat deltas of any provider told as Responses API items and stream events,
streamed or as the final response of the sequence."""

from __future__ import annotations

from typing import Any

from agentworks_platform.app import allow_callers
from agentworks_platform.event_stream import event_stream
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from agentworks_provider_router.calls import OPENAI_API_CALLERS, answered_by, opened_chat, refusal
from agentworks_provider_router.providers.base import ProviderError
from agentworks_provider_router.responses import service
from agentworks_provider_router.responses.schemas import ResponsesIn, ResponseStreamEvent

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


@router.post(
    "/responses",
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS))],
    summary="Create a model response (OpenAI Responses API), streamed or not",
    responses={
        200: {
            "description": "The response; streamed (``stream: true``), one event a ``data:`` line",
            "content": event_stream(ResponseStreamEvent),
        }
    },
)
async def create_response(body: ResponsesIn, request: Request) -> Any:
    outcome, stream, first = await opened_chat(request, body.normalised(), body.metadata)
    sequence = service.events(service.ResponseBuilder(body, outcome), stream, first)
    if body.stream:
        return StreamingResponse(
            service.server_sent(sequence),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", **answered_by(outcome)},
        )
    try:
        response = await service.final_response(sequence)
    except ProviderError as exc:
        raise refusal(exc, outcome) from None
    return JSONResponse(response, headers=answered_by(outcome))
