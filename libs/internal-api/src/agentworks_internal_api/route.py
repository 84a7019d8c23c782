"""An internal route as both ends see it: the serving endpoint declares its model, a caller asks through it and
gets that model back, so the two cannot read the answer differently."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from agentworks_platform.internal_http import InternalClient
from pydantic import BaseModel, ValidationError

AnswerT = TypeVar("AnswerT", bound=BaseModel)
BodyT = TypeVar("BodyT", bound=BaseModel)


class PeerUnavailableError(RuntimeError):
    """The serving service gave no usable answer: unreachable, another status, or an answer not its model."""


@dataclass(frozen=True, slots=True)
class Lookup(Generic[AnswerT]):
    """``GET path`` on ``service``: 200 with ``answer``, or 404 when the service has no such thing."""

    service: str
    path: str
    answer: type[AnswerT]
    method: Literal["GET"] = "GET"

    async def ask(
        self,
        client: InternalClient,
        *path_values: object,
        unavailable: type[Exception] = PeerUnavailableError,
        query: Mapping[str, str] | None = None,
    ) -> AnswerT | None:
        """The answer for the path filled with ``path_values`` (in the order the path names them), parsed into
        ``answer``; None for 404; ``unavailable`` for a transport error, another status or an answer that is not
        the model (callers treat all three as transient)."""
        path = _filled(self.path, path_values)
        try:
            response = await client.request("GET", path, params=dict(query or {}))
        except httpx.HTTPError as exc:
            raise unavailable(f"{self.service} is unreachable: {type(exc).__name__}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise unavailable(f"{self.service} answered {response.status_code} for {path}")
        try:
            return self.answer.model_validate_json(response.content)
        except ValidationError as exc:
            raise unavailable(f"{self.service} answered {path} with no {self.answer.__name__}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Command(Generic[BodyT]):
    """``POST path`` on ``service`` with ``body``, answered 204 with no content once done. ``idempotent`` routes
    are retried on a transport error or a retryable status."""

    service: str
    path: str
    body: type[BodyT]
    idempotent: bool = False
    method: Literal["POST"] = "POST"

    async def send(
        self,
        client: InternalClient,
        *path_values: object,
        body: BodyT,
        unavailable: type[Exception] = PeerUnavailableError,
    ) -> None:
        """Deliver ``body`` to the path filled with ``path_values``; ``unavailable`` unless the service answered
        204."""
        path = _filled(self.path, path_values)
        content = body.model_dump_json().encode()
        headers = {"content-type": "application/json"}
        try:
            response = await client.request("POST", path, content=content, headers=headers, idempotent=self.idempotent)
        except httpx.HTTPError as exc:
            raise unavailable(f"{self.service} is unreachable: {type(exc).__name__}") from None
        if response.status_code != 204:
            raise unavailable(f"{self.service} answered {response.status_code} for {path}")


InternalRoute = Lookup[Any] | Command[Any]
"""Any route of the catalogue."""


PATH_PARAMETER = re.compile(r"\{[^}]+\}")


def _filled(template: str, values: tuple[object, ...]) -> str:
    """The path with its parameters replaced by ``values``, in order, each percent-encoded whole (a value holding
    ``/`` or ``?`` stays one segment); each must be given: a short call is a bug."""
    names = PATH_PARAMETER.findall(template)
    if len(names) != len(values):
        raise TypeError(f"{template} takes {len(names)} path values, not {len(values)}")
    remaining = iter(values)
    return PATH_PARAMETER.sub(lambda _: quote(str(next(remaining)), safe=""), template)
