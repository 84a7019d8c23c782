"""The bytes of a card's generated images: the provider router keeps them in the blobs port under their workspace
and answers a read only for the workspace it is told."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from agentworks_platform.internal_http import InternalClient

from agentworks_core.agents.catalog import router_unavailable

IMAGE_FILE_PATH = "/v1/images/files/{name}"


@dataclass(frozen=True, slots=True)
class ImageFile:
    data: bytes
    content_type: str


class ImageFiles:
    """Reads generated images from the provider router as core, for the workspace that owns the card."""

    def __init__(self, client: InternalClient) -> None:
        self._client = client

    async def read(self, workspace_id: uuid.UUID, name: str) -> ImageFile | None:
        """The image, or None when the router keeps no such image for that workspace."""
        unavailable = router_unavailable("Images are", "images_unavailable")
        try:
            response = await self._client.request(
                "GET", IMAGE_FILE_PATH.format(name=name), headers={"x-aw-workspace-id": str(workspace_id)}
            )
        except httpx.HTTPError:
            raise unavailable from None
        if response.status_code in (404, 422):
            return None
        if response.status_code != 200:
            raise unavailable
        return ImageFile(response.content, response.headers.get("content-type", "application/octet-stream"))
