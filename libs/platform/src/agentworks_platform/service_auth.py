"""Service-to-service and Pub/Sub push tokens: Google ID tokens in production, locally signed in dev.

Both are RS256 JWTs verified by the same code (``TokenVerifier``); only where the public keys come
from differs (Google's published certificates vs. the local development key).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
LOCAL_ISSUER = "https://agentworks.local/dev-issuer"
TOKEN_LIFETIME_SECONDS = 3600


class TokenError(Exception):
    """A token was refused. ``status`` is 401 (not authentic or expired) or 403 (not for us / not allowed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedCaller:
    """The authenticated identity behind a valid token."""

    email: str
    subject: str
    audience: str
    claims: Mapping[str, Any]


# ---- keys -------------------------------------------------------------------------------------


def ensure_dev_key(path: Path) -> bytes:
    """Return the dev RSA private key (PEM), creating it on first use with owner-only permissions."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    tmp.replace(path)
    return pem


# Loading a private key checks its consistency, about 0.35 s for a 2048-bit RSA key on two shared cores; a
# process (a fleet in one process, a test session) loads the same key for every service and caller it builds.
@functools.lru_cache(maxsize=8)
def public_pem_and_kid(private_pem: bytes) -> tuple[str, str]:
    key = serialization.load_pem_private_key(private_pem, password=None)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return public.decode(), hashlib.sha256(public).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _rsa_signer(private_pem: bytes) -> crypt.RSASigner:
    _, kid = public_pem_and_kid(private_pem)
    signer: crypt.RSASigner = crypt.RSASigner.from_string(private_pem, key_id=kid)
    return signer


# ---- signing ----------------------------------------------------------------------------------


class TokenSource(Protocol):
    async def token_for(self, audience: str) -> str: ...


class LocalTokenSigner:
    """Mints Google-shaped ID tokens with the local key (dev, tests, and the Pub/Sub emulator)."""

    def __init__(self, private_pem: bytes, email: str, issuer: str = LOCAL_ISSUER) -> None:
        self._signer = _rsa_signer(private_pem)
        self._email = email
        self._issuer = issuer
        self._tokens = _TokenCache()

    def sign(self, audience: str, *, lifetime: int = TOKEN_LIFETIME_SECONDS, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": audience,
            "sub": self._email,
            "azp": self._email,
            "email": self._email,
            "email_verified": True,
            "iat": now,
            "exp": now + lifetime,
        }
        claims.update(overrides)
        token: bytes = jwt.encode(self._signer, claims)
        return token.decode()

    async def token_for(self, audience: str) -> str:
        return self._tokens.get(audience) or self._tokens.put(audience, self.sign(audience))


class _TokenCache:
    """Tokens per audience, reused until five minutes before they expire (signing costs about a millisecond)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}

    def get(self, audience: str) -> str | None:
        cached = self._tokens.get(audience)
        return cached[0] if cached and cached[1] - 300 > time.time() else None

    def put(self, audience: str, token: str) -> str:
        self._tokens[audience] = (token, time.time() + TOKEN_LIFETIME_SECONDS)
        return token


class GoogleIdTokenSource:
    """Fetches Google ID tokens for the runtime service account (metadata server on Cloud Run)."""

    def __init__(self) -> None:
        self._tokens = _TokenCache()

    async def token_for(self, audience: str) -> str:
        return self._tokens.get(audience) or self._tokens.put(audience, await asyncio.to_thread(self._fetch, audience))

    @staticmethod
    def _fetch(audience: str) -> str:
        import google.auth.transport.requests
        from google.oauth2 import id_token

        token: str = id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)
        return token


# ---- verification -----------------------------------------------------------------------------


VERIFIED_TOKENS_KEPT = 4096


class CertsSource(Protocol):
    async def certs(self) -> Mapping[str, str]: ...


class StaticCerts:
    """Public keys known up front (the local development key)."""

    def __init__(self, certs: Mapping[str, str]) -> None:
        self._certs = dict(certs)

    @classmethod
    def from_private_key(cls, private_pem: bytes) -> StaticCerts:
        public, kid = public_pem_and_kid(private_pem)
        return cls({kid: public})

    async def certs(self) -> Mapping[str, str]:
        return self._certs


class PublishedCerts:
    """Google's published signing certificates, cached for as long as the response allows."""

    def __init__(self, url: str = GOOGLE_CERTS_URL, client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._client = client
        self._certs: Mapping[str, str] = {}
        self._expires = 0.0

    async def certs(self) -> Mapping[str, str]:
        if time.time() < self._expires:
            return self._certs
        client = self._client or httpx.AsyncClient(timeout=5)
        response = await client.get(self._url)
        response.raise_for_status()
        self._certs = response.json()
        self._expires = time.time() + _max_age(response.headers.get("cache-control", ""))
        return self._certs


def _max_age(cache_control: str) -> float:
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name == "max-age" and value.isdigit():
            return float(value)
    return 300.0


class TokenVerifier:
    """Verifies a bearer token's signature, expiry, issuer, audience, email and ``email_verified``."""

    def __init__(
        self,
        certs: CertsSource,
        audience: str,
        allowed_emails: Iterable[str],
        issuers: Iterable[str] = GOOGLE_ISSUERS,
    ) -> None:
        self._certs = certs
        self._audience = audience.rstrip("/")
        self._allowed = frozenset(allowed_emails)
        self._issuers = frozenset(issuers)
        self._verified: dict[str, Mapping[str, Any]] = {}

    async def verify(self, token: str, allowed_emails: Iterable[str] | None = None) -> VerifiedCaller:
        claims = await self._decode(token)
        if claims.get("iss") not in self._issuers:
            raise TokenError(401, "token issuer is not trusted")
        audience = str(claims.get("aud", "")).rstrip("/")
        if audience != self._audience:
            raise TokenError(403, "token audience is not this service")
        email = claims.get("email")
        if claims.get("email_verified") is not True or not isinstance(email, str):
            raise TokenError(403, "token email is not verified")
        allowed = self._allowed if allowed_emails is None else frozenset(allowed_emails)
        if email not in allowed:
            raise TokenError(403, "caller is not allowed to call this endpoint")
        return VerifiedCaller(email=email, subject=str(claims.get("sub", "")), audience=audience, claims=claims)

    async def _decode(self, token: str) -> Mapping[str, Any]:
        """The token's claims; a token whose signature was checked before is not checked again until it expires
        (callers reuse a token for most of its hour)."""
        known = self._verified.get(token)
        if known is not None and float(known.get("exp", 0)) > time.time():
            return known
        certs = await self._certs.certs()
        try:
            claims: Mapping[str, Any] = jwt.decode(token, certs=dict(certs), verify=True, audience=None)
        except (ValueError, KeyError) as exc:
            raise TokenError(401, f"token is not valid: {_short(exc)}") from None
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = claims
        return claims


def _short(exc: Exception) -> str:
    text = str(exc).split("\n", 1)[0]
    return text[:120]


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise TokenError(401, "a bearer token is required")
    return token.strip()
