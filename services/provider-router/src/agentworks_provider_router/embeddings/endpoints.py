"""``POST /v1/embeddings`` in OpenAI's wire format."""

from __future__ import annotations

from agentworks_platform.app import allow_callers
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agentworks_provider_router.calls import OPENAI_API_CALLERS, answered_by, call_meta, refusal, router_of
from agentworks_provider_router.embeddings import service
from agentworks_provider_router.embeddings.schemas import EmbeddingsIn
from agentworks_provider_router.providers.base import ProviderError
from agentworks_provider_router.routing import Outcome

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


@router.post(
    "/embeddings",
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS))],
    summary="Embed text with an OpenAI or Gemini embedding model (OpenAI format)",
)
async def create_embeddings(body: EmbeddingsIn, request: Request) -> JSONResponse:
    meta = call_meta(request, body.metadata)
    outcome = Outcome()
    try:
        answer = await service.embed(router_of(request), body, meta, outcome)
    except ProviderError as exc:
        raise refusal(exc, outcome) from None
    return JSONResponse(answer, headers=answered_by(outcome))
