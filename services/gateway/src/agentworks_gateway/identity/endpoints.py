"""Identity endpoints: sign up, sign in, sign out, who am I, and my sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_platform.app import SessionDep, context_of
from agentworks_platform.errors import AppError, error_responses
from fastapi import APIRouter, Depends, Request, Response

from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.identity import service
from agentworks_gateway.identity.schemas import SessionOut, SignIn, SignUp, UserOut
from agentworks_gateway.security import Caller, caller_of

router = APIRouter(prefix="/api", tags=["identity"], responses=error_responses(404, 409, 429))

CallerDep = Annotated[Caller, Depends(caller_of)]


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = context_of(request).settings  # type: ignore[assignment]
    return settings


def _set_cookie(response: Response, settings: GatewaySettings, token: str, max_age: int) -> None:
    response.set_cookie(
        settings.session_cookie,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )


def _origin_facts(request: Request) -> tuple[str, str]:
    return request.headers.get("user-agent", ""), str(getattr(request.state, "client_ip", ""))


@router.post("/auth/signup", status_code=201, summary="Create an account and sign in")
async def sign_up(body: SignUp, request: Request, response: Response) -> UserOut:
    settings = _settings(request)
    async with context_of(request).db.transaction() as session:  # commits the attempt count too
        outcome = await service.sign_up(session, settings, body, *_origin_facts(request))
    if isinstance(outcome, AppError):
        raise outcome
    _set_cookie(response, settings, outcome.token, outcome.max_age)
    return UserOut.model_validate(outcome.user)


@router.post("/auth/signin", summary="Sign in with email and password")
async def sign_in(body: SignIn, request: Request, response: Response) -> UserOut:
    settings = _settings(request)
    async with context_of(request).db.transaction() as session:  # commits failure counts too
        outcome = await service.sign_in(session, settings, body, *_origin_facts(request))
    if isinstance(outcome, AppError):
        raise outcome
    _set_cookie(response, settings, outcome.token, outcome.max_age)
    return UserOut.model_validate(outcome.user)


@router.post("/auth/signout", status_code=204, summary="Sign out this browser")
async def sign_out(request: Request, caller: CallerDep, session: SessionDep) -> Response:
    response = Response(status_code=204)
    if caller.via == "session":
        await service.sign_out(session, caller.credential_id)
    settings = _settings(request)
    response.delete_cookie(
        settings.session_cookie, path="/", secure=settings.is_production, httponly=True, samesite="lax"
    )
    return response


@router.get("/me", summary="The signed-in user")
async def me(caller: CallerDep, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.user(session, caller.principal.user_id))


@router.get("/auth/sessions", summary="Your active sessions")
async def my_sessions(caller: CallerDep, session: SessionDep) -> list[SessionOut]:
    rows = await service.sessions(session, caller.principal.user_id)
    return [SessionOut.model_validate(r).model_copy(update={"current": r.id == caller.credential_id}) for r in rows]


@router.delete("/auth/sessions/{session_id}", status_code=204, summary="Revoke one of your sessions")
async def revoke_session(session_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    await service.revoke(session, caller.principal.user_id, session_id)
    return Response(status_code=204)
