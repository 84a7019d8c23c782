"""``GET /v1/models``: the models callers may ask for, in the OpenAI list format."""

from __future__ import annotations

from typing import Literal

from agentworks_platform.app import allow_callers
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from agentworks_provider_router.pricing import PriceTable

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


@router.get("/models", dependencies=[Depends(allow_callers("core"))], summary="List the models that can be routed")
async def list_models(request: Request) -> ModelList:
    prices: PriceTable = request.app.state.prices
    return ModelList(data=[ModelCard(id=model, owned_by=provider) for provider, model in prices.model_ids])
