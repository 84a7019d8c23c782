"""The end user behind an internal request: authenticated by the gateway, vouched for by its token.

The gateway verifies the session cookie or API key, then calls the owning service with its own service
token and these headers. Services trust the headers only after verifying that token, and only from the
gateway: it is the one service that authenticates end users.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, unquote
from uuid import UUID

from fastapi import Depends, Request

from agentworks_platform.app import allow_callers
from agentworks_platform.errors import Unauthenticated
from agentworks_platform.service_auth import VerifiedCaller

USER_ID = "x-aw-user-id"
USER_EMAIL = "x-aw-user-email"
KEY_WORKSPACE = "x-aw-key-workspace"
API_KEY_ID = "x-aw-api-key-id"
GATEWAY_URL = "x-aw-gateway-url"  # the public base of links the gateway serves (e.g. images answered as URLs)
REQUEST_ID = "x-request-id"
CLIENT_IP = "x-aw-client-ip"

FROM_GATEWAY = allow_callers("gateway")
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_or_new(candidate: str | None) -> str:
    """A caller's ``X-Request-ID`` when it is a plain token; otherwise (absent, too long, odd bytes) a new one."""
    return candidate if candidate and SAFE_REQUEST_ID.fullmatch(candidate) else uuid.uuid4().hex


def email_header(email: str) -> str:
    """An address as an HTTP header value: header values are ASCII, addresses need not be (RFC 6532)."""
    return quote(email, safe="@+.-_")


def email_from_header(value: str) -> str:
    return unquote(value)


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user, or an API key acting for its creator within one workspace."""

    user_id: UUID
    email: str
    key_workspace_id: UUID | None = None
    request_id: str = ""
    client_ip: str = ""
    api_key_id: UUID | None = None

    def headers(self) -> dict[str, str]:
        headers = {
            USER_ID: str(self.user_id),
            USER_EMAIL: email_header(self.email),
            REQUEST_ID: request_id_or_new(self.request_id),
            CLIENT_IP: self.client_ip,
        }
        if self.key_workspace_id:
            headers[KEY_WORKSPACE] = str(self.key_workspace_id)
        if self.api_key_id:
            headers[API_KEY_ID] = str(self.api_key_id)
        return headers


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


async def current_principal(request: Request, _gateway: Annotated[VerifiedCaller, Depends(FROM_GATEWAY)]) -> Principal:
    """Dependency: the principal the gateway vouches for (its token verified first)."""
    user_id = _uuid(request.headers.get(USER_ID))
    email = email_from_header(request.headers.get(USER_EMAIL, ""))
    if user_id is None or not email:
        raise Unauthenticated("Sign in first.")
    return Principal(
        user_id=user_id,
        email=email.lower(),
        key_workspace_id=_uuid(request.headers.get(KEY_WORKSPACE)),
        request_id=request_id_or_new(request.headers.get(REQUEST_ID)),
        client_ip=request.headers.get(CLIENT_IP, ""),
        api_key_id=_uuid(request.headers.get(API_KEY_ID)),
    )
