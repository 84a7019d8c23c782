"""Sign-up and sign-in with throttling, sessions that expire and can be revoked."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from agentworks_platform.clock import utc_now
from agentworks_platform.errors import AppError, Conflict, NotFound, Unauthenticated
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.identity import repository
from agentworks_gateway.identity.passwords import hash_password, verify_password
from agentworks_gateway.identity.schemas import SignIn, SignUp
from agentworks_gateway.models import Session, User
from agentworks_gateway.ratelimit import service as ratelimit
from agentworks_gateway.security import digest


@dataclass(frozen=True, slots=True)
class NewSession:
    user: User
    token: str
    max_age: int


async def _open_session(
    session: AsyncSession, settings: GatewaySettings, user: User, user_agent: str, ip: str
) -> NewSession:
    token = secrets.token_urlsafe(32)
    now = utc_now()
    ttl = timedelta(hours=settings.session_ttl_hours)
    session.add(
        Session(
            token_hash=digest(token),
            id=uuid.uuid4(),
            user_id=user.id,
            created_at=now,
            expires_at=now + ttl,
            user_agent=user_agent[:200],
            client_ip=ip,
        )
    )
    await session.flush()
    return NewSession(user, token, int(ttl.total_seconds()))


async def sign_up(
    session: AsyncSession, settings: GatewaySettings, body: SignUp, user_agent: str, ip: str
) -> NewSession | AppError:
    """Returns the session, or the error to answer with (every attempt counts against the address, so the
    count must be committed and the error not raised): sign-ups cannot enumerate accounts at full speed."""
    window = await ratelimit.hit(
        session, f"signup:ip:{ip}", settings.signups_per_address, settings.signup_window_minutes * 60
    )
    if window.exceeded:
        return _throttled(window, "Too many sign-ups from this address; wait before trying again.", "signup_throttled")
    email = body.email.lower()
    if await repository.email_taken(session, email):
        return _email_taken()
    user = User(
        id=uuid.uuid4(),
        email=email,
        name=body.name,
        password_hash=await hash_password(body.password, settings.password_hash_cost),
        created_at=utc_now(),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise _email_taken() from None
    return await _open_session(session, settings, user, user_agent, ip)


def _email_taken() -> AppError:
    return Conflict("An account with this email already exists; sign in instead.", code="email_taken")


def _throttled(window: ratelimit.Window, message: str, code: str) -> AppError:
    return AppError(message, code=code, status_code=429, headers={"Retry-After": str(window.retry_after())})


async def sign_in(
    session: AsyncSession, settings: GatewaySettings, body: SignIn, user_agent: str, ip: str
) -> NewSession | AppError:
    """Returns the session, or the error to answer with (failures must be committed, so not raised)."""
    email = body.email.strip().lower()
    seconds = settings.signin_window_minutes * 60
    account, address = f"signin:account:{email}", f"signin:ip:{ip}"
    for bucket, limit in (
        (account, settings.signin_failures_per_account),
        (address, settings.signin_failures_per_address),
    ):
        window = await ratelimit.peek(session, bucket, limit, seconds)
        if window.used >= limit:
            return _throttled(window, "Too many failed sign-ins; wait before trying again.", "signin_throttled")
    user = await repository.user_by_email(session, email)
    stored = user.password_hash if user else None
    if not await verify_password(stored, body.password, settings.password_hash_cost) or user is None:
        await ratelimit.hit(session, account, settings.signin_failures_per_account, seconds)
        await ratelimit.hit(session, address, settings.signin_failures_per_address, seconds)
        return Unauthenticated("Wrong email or password.", code="invalid_credentials")
    await ratelimit.reset(session, account)
    return await _open_session(session, settings, user, user_agent, ip)


async def sign_out(session: AsyncSession, session_id: uuid.UUID) -> None:
    await repository.revoke_session(session, session_id, utc_now())


async def user(session: AsyncSession, user_id: uuid.UUID) -> User:
    found = await session.get(User, user_id)
    if found is None:
        raise Unauthenticated("This account no longer exists.")
    return found


async def sessions(session: AsyncSession, user_id: uuid.UUID) -> list[Session]:
    return await repository.live_sessions_of(session, user_id, utc_now())


async def revoke(session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    if not await repository.revoke_active_session_of(session, user_id, session_id, utc_now()):
        raise NotFound("No such active session.")
