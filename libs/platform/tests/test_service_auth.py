from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentworks_platform.service_auth import (
    LOCAL_ISSUER,
    LocalTokenSigner,
    StaticCerts,
    TokenError,
    TokenVerifier,
    bearer_token,
    ensure_dev_key,
)
from google.auth import _helpers as google_helpers

AUDIENCE = "http://127.0.0.1:8081"
PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"


@pytest.fixture
def key(dev_key: bytes) -> bytes:
    """The session's signing key (conftest.py): generating one per test costs more than the tests themselves."""
    return dev_key


@pytest.fixture
def verifier(key: bytes) -> TokenVerifier:
    return TokenVerifier(StaticCerts.from_private_key(key), AUDIENCE, [PUSHER], issuers=[LOCAL_ISSUER])


async def test_a_valid_token_identifies_the_caller(key: bytes, verifier: TokenVerifier) -> None:
    token = LocalTokenSigner(key, PUSHER).sign(AUDIENCE + "/")
    caller = await verifier.verify(token)
    assert caller.email == PUSHER
    assert caller.audience == AUDIENCE


def test_dev_key_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    first = ensure_dev_key(path)
    assert ensure_dev_key(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("forged", 401),
        ("expired", 401),
        ("garbage", 401),
        ("wrong issuer", 401),
        ("wrong audience", 403),
        ("unverified email", 403),
        ("not allowed", 403),
    ],
)
async def test_bad_tokens_are_refused(
    case: str, status: int, key: bytes, tmp_path: Path, verifier: TokenVerifier
) -> None:
    signer = LocalTokenSigner(key, PUSHER)
    tokens = {
        "forged": lambda: LocalTokenSigner(ensure_dev_key(tmp_path / "other.pem"), PUSHER).sign(AUDIENCE),
        "expired": lambda: signer.sign(AUDIENCE, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
        "garbage": lambda: "not.a.jwt",
        "wrong issuer": lambda: signer.sign(AUDIENCE, iss="https://evil.example"),
        "wrong audience": lambda: signer.sign("http://127.0.0.1:9999"),
        "unverified email": lambda: signer.sign(AUDIENCE, email_verified=False),
        "not allowed": lambda: LocalTokenSigner(key, "intruder@example.com").sign(AUDIENCE),
    }
    with pytest.raises(TokenError) as error:
        await verifier.verify(tokens[case]())
    assert error.value.status == status


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "bearer "])
def test_missing_bearer_is_401(header: str | None) -> None:
    with pytest.raises(TokenError) as error:
        bearer_token(header)
    assert error.value.status == 401


async def test_a_signer_reuses_its_token_until_five_minutes_before_expiry(
    key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = LocalTokenSigner(key, PUSHER)
    first = await signer.token_for(AUDIENCE)
    assert await signer.token_for(AUDIENCE) == first
    assert await signer.token_for("http://127.0.0.1:9999") != first
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3600 - 299)
    assert await signer.token_for(AUDIENCE) != first


async def test_a_verified_token_is_not_checked_again_until_it_expires(
    key: bytes, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentworks_platform import service_auth

    decoded: list[str] = []
    real_decode = service_auth.jwt.decode

    def counting_decode(token: str, **kwargs: object) -> object:
        decoded.append(token)
        return real_decode(token, **kwargs)

    monkeypatch.setattr(service_auth.jwt, "decode", counting_decode)
    signer = LocalTokenSigner(key, PUSHER)
    token = signer.sign(AUDIENCE)
    await verifier.verify(token)
    await verifier.verify(token)
    assert decoded == [token]
    with pytest.raises(TokenError):
        await verifier.verify(token, allowed_emails=["someone-else@example.com"])
    now = time.time()
    later = datetime.fromtimestamp(now + 3601, UTC).replace(tzinfo=None)
    monkeypatch.setattr(time, "time", lambda: now + 3601)
    monkeypatch.setattr(google_helpers, "utcnow", lambda: later)
    with pytest.raises(TokenError) as expired:
        await verifier.verify(token)
    assert expired.value.status == 401
    assert decoded == [token, token]
