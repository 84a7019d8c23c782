"""Attachments: a card's files, kept in the blobs port under the card's workspace. What a file is comes from its
bytes (``filetype`` reads their signature; text is UTF-8 without NUL), never from the uploader, and only the types
of ``ALLOWED`` are taken; a file is downloaded as an attachment, never rendered in the page."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import filetype  # type: ignore[import-untyped]
from agentworks_blobs import BlobStore
from agentworks_events import utc_now
from agentworks_platform.db import after_commit
from agentworks_platform.errors import AppError, NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.access import Access
from agentworks_core.attachments import repository
from agentworks_core.attachments.schemas import AttachmentOut
from agentworks_core.audit import service as audit
from agentworks_core.cards import service as cards
from agentworks_core.models import CardAttachment

ALLOWED = {
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "application/pdf": "PDF",
    "text/plain": "plain text (UTF-8)",
}
TEXT = "text/plain"


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment's bytes with the headers a download needs."""

    data: bytes
    content_type: str
    disposition: str


async def received(stream: AsyncIterator[bytes], max_bytes: int) -> bytes:
    """The request's body, refused (413) as soon as it passes ``max_bytes``."""
    body = bytearray()
    async for chunk in stream:
        body += chunk
        if len(body) > max_bytes:
            raise AppError(f"An attachment is at most {max_bytes} bytes.", code="attachment_too_large", status_code=413)
    return bytes(body)


def sniffed(data: bytes) -> str | None:
    """What the bytes are, when it is a type attachments take."""
    kind: str | None = filetype.guess_mime(data)
    if kind is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return TEXT if "\x00" not in text else None
    return kind if kind in ALLOWED else None


def _clean_name(filename: str) -> str:
    """The file's own name without any folder, control or separator character, at most 200 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if not name:
        raise AppError("The file needs a name.", code="invalid_filename", status_code=422)
    return name[:200]


def disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one in RFC 5987 form."""
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", unicodedata.normalize("NFKD", filename)) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _blob_path(attachment: CardAttachment) -> str:
    return f"attachments/{attachment.workspace_id}/{attachment.card_id}/{attachment.id}"


async def attach(
    session: AsyncSession, access: Access, blobs: BlobStore, card_id: uuid.UUID, filename: str, data: bytes
) -> AttachmentOut:
    card = await cards.get(session, card_id)
    name = _clean_name(filename)
    if not data:
        raise AppError("The file is empty.", code="empty_attachment", status_code=422)
    kind = sniffed(data)
    if kind is None:
        raise AppError(
            f"This kind of file is not taken; attach one of: {', '.join(ALLOWED.values())}.",
            code="attachment_type_not_allowed",
            status_code=415,
            details={"allowed": sorted(ALLOWED)},
        )
    attachment = CardAttachment(
        id=uuid.uuid4(),
        workspace_id=card.workspace_id,
        card_id=card.id,
        filename=name,
        content_type=kind,
        size=len(data),
        uploaded_by=access.principal.user_id,
        created_at=utc_now(),
    )
    attachment.blob_name = _blob_path(attachment)
    # The blob is written first: a failed transaction leaves an unreferenced blob, never a row without its file.
    await blobs.put(attachment.blob_name, data, kind)
    repository.add(session, attachment)
    audit.record(
        session, access, "attachment.added", "card", card.id, after={"attachment_id": attachment.id, "filename": name}
    )
    return AttachmentOut.model_validate(attachment)


async def attachments(session: AsyncSession, card_id: uuid.UUID) -> list[AttachmentOut]:
    await cards.get(session, card_id)
    return [AttachmentOut.model_validate(a) for a in await repository.attachments_of(session, card_id)]


async def _attachment(session: AsyncSession, card_id: uuid.UUID, attachment_id: uuid.UUID) -> CardAttachment:
    attachment = await session.get(CardAttachment, attachment_id)
    if attachment is None or attachment.card_id != card_id:
        raise NotFound(f"The card has no attachment with id {attachment_id}.")
    return attachment


async def file(session: AsyncSession, blobs: BlobStore, card_id: uuid.UUID, attachment_id: uuid.UUID) -> AttachmentFile:
    attachment = await _attachment(session, card_id, attachment_id)
    data = await blobs.get(attachment.blob_name)
    if data is None:
        raise NotFound("The attachment's file is no longer kept.")
    kind = f"{TEXT}; charset=utf-8" if attachment.content_type == TEXT else attachment.content_type
    return AttachmentFile(data, kind, disposition(attachment.filename))


async def remove(
    session: AsyncSession, access: Access, blobs: BlobStore, card_id: uuid.UUID, attachment_id: uuid.UUID
) -> None:
    """Delete the attachment; its blob goes once the deletion is committed."""
    attachment = await _attachment(session, card_id, attachment_id)
    path = attachment.blob_name
    audit.record(
        session, access, "attachment.deleted", "card", card_id,
        before={"attachment_id": attachment.id, "filename": attachment.filename},
    )  # fmt: skip
    await repository.delete_attachment(session, attachment)

    async def forget_blob() -> None:
        await blobs.delete(path)

    after_commit(session, forget_blob)
