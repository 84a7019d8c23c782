"""Attachment endpoints: members attach files to a card (the request's body is the file), everyone who reads the
card lists and downloads them, members delete them."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep
from agentworks_platform.errors import error_responses
from fastapi import APIRouter, Query, Request, Response

from agentworks_core.access import PrincipalDep, authorize_resource
from agentworks_core.attachments import service
from agentworks_core.attachments.schemas import AttachmentOut
from agentworks_core.state import AttachmentLimitDep, BlobStoreDep

router = APIRouter(prefix="/api", tags=["attachments"], responses=error_responses(404))
Filename = Annotated[str, Query(min_length=1, max_length=255, description="The file's name, as people see it.")]


@router.post(
    "/cards/{card_id}/attachments",
    status_code=201,
    summary="Attach a file to a card: the body is the file (its type is read from its bytes)",
    responses={
        **error_responses(413, 415, 422),
        201: {"description": "Attached"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def attach_file(
    card_id: uuid.UUID,
    filename: Filename,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    blobs: BlobStoreDep,
    max_bytes: AttachmentLimitDep,
) -> AttachmentOut:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    data = await service.received(request.stream(), max_bytes)
    return await service.attach(session, access, blobs, card_id, filename, data)


@router.get("/cards/{card_id}/attachments", summary="A card's attachments, oldest first")
async def list_attachments(card_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[AttachmentOut]:
    await authorize_resource(session, principal, "card", card_id, "read")
    return await service.attachments(session, card_id)


@router.get(
    "/cards/{card_id}/attachments/{attachment_id}/file",
    summary="Download an attachment",
    response_class=Response,
    responses={200: {"content": {kind: {} for kind in service.ALLOWED}, "description": "The file"}},
)
async def download_attachment(
    card_id: uuid.UUID, attachment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, blobs: BlobStoreDep
) -> Response:
    await authorize_resource(session, principal, "card", card_id, "read")
    found = await service.file(session, blobs, card_id, attachment_id)
    headers = {
        "Content-Disposition": found.disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
    }
    return Response(found.data, media_type=found.content_type, headers=headers)


@router.delete("/cards/{card_id}/attachments/{attachment_id}", status_code=204, summary="Delete an attachment")
async def delete_attachment(
    card_id: uuid.UUID, attachment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, blobs: BlobStoreDep
) -> Response:
    access = await authorize_resource(session, principal, "card", card_id, "write")
    await service.remove(session, access, blobs, card_id, attachment_id)
    return Response(status_code=204)
