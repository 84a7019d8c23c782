"""The OpenAI Embeddings request shape; a parameter the router does not know is refused, never ignored."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from agentworks_provider_router.chat.schemas import Metadata, OpenAIRequest
from agentworks_provider_router.providers.base import EmbeddingRequest

Text = Annotated[str, Field(min_length=1, max_length=100_000)]


class EmbeddingsIn(OpenAIRequest):
    """A string or a list of strings to embed (OpenAI's token-array inputs are not accepted)."""

    model: Annotated[str, Field(min_length=1, max_length=100)]
    input: Text | Annotated[list[Text], Field(min_length=1, max_length=2048)]
    dimensions: Annotated[int, Field(ge=1, le=8192)] | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: Annotated[str, Field(max_length=256)] | None = None
    metadata: Metadata | None = None

    def normalised(self) -> EmbeddingRequest:
        self.refuse_unknown_parameters()
        texts = (self.input,) if isinstance(self.input, str) else tuple(self.input)
        return EmbeddingRequest(self.model, texts, self.dimensions, self.user)
