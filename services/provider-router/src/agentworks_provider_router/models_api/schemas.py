"""The model list in OpenAI's shape."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ModelCard(BaseModel):
    """One model in OpenAI's shape; ``created`` is when its first price took effect."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str


class ModelList(BaseModel):
    """The routable models."""

    object: Literal["list"] = "list"
    data: list[ModelCard]
