"""The guard in front of every ``/api`` request: who is calling, CSRF defence and rate limits.

It resolves the caller from an API key (``Authorization: Bearer aw_…``) or the session cookie, refuses
cross-site state changes made with the cookie, counts the request against the caller's hourly limit in
the shared database, and adds the ``X-RateLimit-*`` headers to the response.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Literal

from agentworks_platform.app import context_of
from agentworks_platform.clock import as_utc, utc_now
from agentworks_platform.db import Database, commit_without_waiting
from agentworks_platform.errors import Unauthenticated, Unavailable, error_response
from agentworks_platform.principal import Principal, request_id_or_new
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentworks_gateway.apikeys import repository as api_keys
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.models import Session, User
from agentworks_gateway.ratelimit import service as ratelimit

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_PATHS = ("/api/docs", "/api/openapi.json")
CREDENTIAL_PATHS = ("/api/auth/signin", "/api/auth/signup")
API_KEY_PREFIX = "aw_"
LAST_USED_GRANULARITY = timedelta(seconds=60)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of this request."""

    principal: Principal
    via: Literal["session", "api_key"]
    credential_id: uuid.UUID


def client_ip(headers: Headers, peer: str, trusted_proxy_hops: int) -> str:
    """The address that connected to the outermost proxy we trust.

    Each trusted proxy appends the address it saw to ``X-Forwarded-For``, so with N of them the client is the
    N-th entry from the right; entries further left were written by the client and prove nothing. A header
    shorter than the deployment's hops (or not an address there) falls back to the peer, failing closed.
    """
    if trusted_proxy_hops == 0:
        return peer[:64]
    entries = [entry.strip() for value in headers.getlist("x-forwarded-for") for entry in value.split(",")]
    if len(entries) < trusted_proxy_hops:
        return peer[:64]
    try:
        return _canonical(ipaddress.ip_address(entries[-trusted_proxy_hops]))
    except ValueError:
        return peer[:64]


def _canonical(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """One spelling per host, so throttles count it once: no IPv6 zone, IPv4-mapped IPv6 as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Address(address.packed))
    return str(address)


def cross_site(headers: Headers, allowed_origins: tuple[str, ...]) -> bool:
    """Fetch Metadata when the browser sends it; otherwise the Origin must be one of ours."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    return origin is None or origin.rstrip("/") not in allowed_origins


async def _from_api_key(session: AsyncSession, token: str, ip: str, request_id: str) -> Caller:
    key = await api_keys.key_by_hash(session, digest(token))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("This API key is not valid or has been revoked.")
    user = await session.get(User, key.created_by)
    if user is None:
        raise Unauthenticated("This API key's owner no longer exists.")
    now = utc_now()
    if key.last_used_at is None or now - as_utc(key.last_used_at) > LAST_USED_GRANULARITY:
        await api_keys.mark_used(session, key.id, now)
    return Caller(Principal(user.id, user.email, key.workspace_id, request_id, ip, key.id), "api_key", key.id)


async def caller_from_key(session: AsyncSession, token: str, ip: str, request_id: str) -> Caller:
    """The caller an API key stands for (its creator, within its workspace); 401 for a bad or revoked key."""
    return await _from_api_key(session, token, ip, request_id)


async def _from_session(session: AsyncSession, token: str, ip: str, request_id: str) -> Caller | None:
    row = await session.get(Session, digest(token))
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utc_now():
        return None
    user = await session.get(User, row.user_id)
    if user is None:
        return None
    return Caller(Principal(user.id, user.email, None, request_id, ip), "session", row.id)


class _CrossSite(Exception):
    """A cookie-authenticated state change from another site."""


def session_token(headers: Headers, cookie_name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(raw)
    except Exception:
        return None
    morsel = cookies.get(cookie_name)
    return morsel.value if morsel else None


class ApiGuard:
    """Pure ASGI middleware so it also sees requests the proxy forwards without a FastAPI route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path.startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        ctx = context_of(request)
        settings: GatewaySettings = ctx.settings  # type: ignore[assignment]
        headers = request.headers
        ip = client_ip(headers, request.client.host if request.client else "", settings.trusted_proxy_hops)
        request_id = request_id_or_new(headers.get("x-request-id"))
        try:
            caller, window = await self._admit(ctx.db, settings, scope["method"], path, headers, ip, request_id)
        except Unauthenticated as exc:
            await error_response(401, exc.code, exc.message)(scope, receive, send)
            return
        except Unavailable as exc:  # no database connection in time: the client retries, nothing was written
            await error_response(503, exc.code, exc.message, headers=exc.headers)(scope, receive, send)
            return
        except _CrossSite:
            await error_response(
                403, "csrf_rejected", "Cross-site requests cannot change anything; use an API key from scripts."
            )(scope, receive, send)
            return
        scope.setdefault("state", {})
        scope["state"]["caller"] = caller
        scope["state"]["client_ip"] = ip
        scope["state"]["request_id"] = request_id
        if window is None:
            await self.app(scope, receive, send)
            return
        await self._limited(window, scope, receive, send)

    async def _admit(
        self,
        db: Database,
        settings: GatewaySettings,
        method: str,
        path: str,
        headers: Headers,
        ip: str,
        request_id: str,
    ) -> tuple[Caller | None, ratelimit.Window | None]:
        """Who is calling, whether they may, and their rate-limit window after this request: one transaction,
        committed without waiting for the disk (a crash can only forget a few counts or a last-used time)."""
        async with db.transaction() as session:
            await commit_without_waiting(session)
            caller = await self.caller_in(session, settings, headers, ip, request_id)
            if self._needs_same_origin(method, path, caller) and cross_site(headers, settings.allowed_origins):
                raise _CrossSite
            if caller is None:
                return None, None
            bucket = f"key:{caller.credential_id}" if caller.via == "api_key" else f"user:{caller.principal.user_id}"
            return caller, await ratelimit.hit(session, bucket, settings.requests_per_hour, ratelimit.HOUR)

    @staticmethod
    def _needs_same_origin(method: str, path: str, caller: Caller | None) -> bool:
        """Cookie-authenticated state changes, and sign-in/up themselves (no login CSRF)."""
        if method not in STATE_CHANGING:
            return False
        return caller.via == "session" if caller is not None else path in CREDENTIAL_PATHS

    @classmethod
    async def resolve(
        cls, db: Database, settings: GatewaySettings, headers: Headers, ip: str, request_id: str
    ) -> Caller | None:
        """The caller in a transaction of its own (WebSocket handshakes)."""
        async with db.transaction() as session:
            return await cls.caller_in(session, settings, headers, ip, request_id)

    @staticmethod
    async def key_caller_in(session: AsyncSession, headers: Headers, ip: str, request_id: str) -> Caller | None:
        """The caller from an API key (``Authorization: Bearer aw_…``) only; None when no key is sent."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.startswith(API_KEY_PREFIX):
            return await _from_api_key(session, token.strip(), ip, request_id)
        return None

    @staticmethod
    async def caller_in(
        session: AsyncSession, settings: GatewaySettings, headers: Headers, ip: str, request_id: str
    ) -> Caller | None:
        """The caller from an API key or the session cookie."""
        by_key = await ApiGuard.key_caller_in(session, headers, ip, request_id)
        if by_key is not None:
            return by_key
        cookie = session_token(headers, settings.session_cookie)
        return await _from_session(session, cookie, ip, request_id) if cookie else None

    async def _limited(self, window: ratelimit.Window, scope: Scope, receive: Receive, send: Send) -> None:
        extra = window.headers()
        if window.exceeded:
            extra["Retry-After"] = str(window.retry_after())
            await error_response(
                429,
                "rate_limited",
                f"More than {window.limit} requests this hour; try again in {extra['Retry-After']} seconds.",
                headers=extra,
            )(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def caller_of(request: Request) -> Caller:
    """Dependency: the authenticated caller, or 401."""
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise Unauthenticated("Sign in first, or send an API key as 'Authorization: Bearer aw_…'.")
    return caller
