"""``GET /v1/models`` and ``GET /v1/models/{id}``: the models callers may ask for, in OpenAI's format. Only a
model with a price in force today is listed or found; anything else would be billed at zero."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from agentworks_platform.app import allow_callers, context_of
from agentworks_platform.errors import AppError
from fastapi import APIRouter, Depends, Request

from agentworks_provider_router.models_api.schemas import ModelCard, ModelList
from agentworks_provider_router.pricing import PriceTable
from agentworks_provider_router.state import router_state

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


def _prices(request: Request) -> PriceTable:
    return router_state(context_of(request)).prices


def _card(prices: PriceTable, provider: str, model: str) -> ModelCard:
    first = min(m.effective_from for m in prices.models if m.model == model)
    return ModelCard(id=model, owned_by=provider, created=int(datetime.combine(first, time(), UTC).timestamp()))


@router.get(
    "/models",
    dependencies=[Depends(allow_callers("core", "gateway"))],
    summary="List the models that can be routed",
)
async def list_models(request: Request) -> ModelList:
    prices = _prices(request)
    return ModelList(data=[_card(prices, provider, model) for provider, model in prices.priced_models(date.today())])


@router.get(
    "/models/{model_id}",
    dependencies=[Depends(allow_callers("core", "orchestrator", "gateway"))],
    summary="One model that can be routed",
    responses={404: {"description": "No such model, or no price in force for it"}},
)
async def get_model(model_id: str, request: Request) -> ModelCard:
    prices = _prices(request)
    for provider, model in prices.priced_models(date.today()):
        if model == model_id:
            return _card(prices, provider, model)
    raise AppError(
        f"The model {model_id!r} does not exist or cannot be routed; see GET /v1/models.",
        code="model_not_found",
        status_code=404,
        details={"param": "model"},
    )
