"""The models the provider router can route, read through its OpenAI-compatible ``/v1/models``."""

from __future__ import annotations

import httpx
from agentworks_platform.errors import AppError
from agentworks_platform.internal_http import InternalClient


def router_unavailable(what: str, code: str) -> AppError:
    """A 503 asking the client to retry shortly: the provider router did not answer ``what``."""
    return AppError(
        f"{what} unavailable right now; try again shortly.", code=code, status_code=503, headers={"Retry-After": "5"}
    )


class ModelCatalog:
    """Asks the provider router which (provider, model) pairs exist."""

    def __init__(self, client: InternalClient) -> None:
        self._client = client

    async def models(self) -> set[tuple[str, str]]:
        unavailable = router_unavailable("The model list is", "models_unavailable")
        try:
            response = await self._client.request("GET", "/v1/models")
        except httpx.HTTPError:
            raise unavailable from None
        if response.status_code != 200:
            raise unavailable
        return {(m["owned_by"], m["id"]) for m in response.json().get("data", [])}
