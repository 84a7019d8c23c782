"""``POST /v1/embeddings`` in OpenAI's wire format: vectors as float lists or, as the OpenAI SDKs ask by
default, base64 of little-endian float32s."""

from __future__ import annotations

import base64
import struct
from typing import Any

from agentworks_platform.app import allow_callers
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agentworks_provider_router.calls import OPENAI_API_CALLERS, answered_by, call_meta, extension, refusal, router_of
from agentworks_provider_router.embeddings.schemas import EmbeddingsIn
from agentworks_provider_router.providers.base import ProviderError
from agentworks_provider_router.routing import Outcome

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


def encoded(vector: tuple[float, ...], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return list(vector)


@router.post(
    "/embeddings",
    dependencies=[Depends(allow_callers(*OPENAI_API_CALLERS))],
    summary="Embed text with an OpenAI or Gemini embedding model (OpenAI format)",
)
async def create_embeddings(body: EmbeddingsIn, request: Request) -> JSONResponse:
    routing = router_of(request)
    meta = call_meta(request, body.metadata)
    outcome = Outcome()
    try:
        result = await routing.embeddings(body.normalised(), meta, outcome)
    except ProviderError as exc:
        raise refusal(exc, outcome) from None
    data: list[dict[str, Any]] = [
        {"object": "embedding", "index": index, "embedding": encoded(vector, body.encoding_format)}
        for index, vector in enumerate(result.vectors)
    ]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": outcome.model,
            "usage": {"prompt_tokens": outcome.input_tokens, "total_tokens": outcome.input_tokens},
            "agentworks": extension(outcome),
        },
        headers=answered_by(outcome),
    )
