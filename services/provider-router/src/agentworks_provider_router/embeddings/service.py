"""Embeddings as OpenAI answers them: vectors as float lists or, as the OpenAI SDKs ask by default, base64 of
little-endian float32s."""

from __future__ import annotations

import base64
import struct
from typing import Any

from agentworks_provider_router.calls import extension
from agentworks_provider_router.embeddings.schemas import EmbeddingsIn
from agentworks_provider_router.routing import CallMeta, Outcome, Router


def encoded(vector: tuple[float, ...], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return list(vector)


async def embed(routing: Router, body: EmbeddingsIn, meta: CallMeta, outcome: Outcome) -> dict[str, Any]:
    """The embedding list of the body's texts; a provider's refusal raises its ProviderError."""
    result = await routing.embeddings(body.normalised(), meta, outcome)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": encoded(vector, body.encoding_format)}
            for index, vector in enumerate(result.vectors)
        ],
        "model": outcome.model,
        "usage": {"prompt_tokens": outcome.input_tokens, "total_tokens": outcome.input_tokens},
        "agentworks": extension(outcome),
    }
