"""A peer service stood in by scripted answers, held to the peer's published OpenAPI document.

A service's own tests talk to a ``PeerStub`` instead of starting the peer: it is an httpx transport, so the
service's real client (``InternalClient``, the OpenAI SDK) sends to it exactly what it would send over the wire.
Every request it receives and every answer it gives is checked against the peer's operation in
``contracts/openapi/<peer>.json`` (path, method, parameters, body, status, response schema) by openapi-core; a
request the peer would refuse (including a service token from a caller the operation does not admit, its
``x-agentworks-callers``, or for another audience), an answer it could not give, or a call to an operation nobody
scripted is a ``ContractViolation``, raised at the call and again by ``verify()`` when the test ends, so the
service cannot swallow it. Needs the ``testing`` extra of agentworks-platform.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_schema_validator import OAS31Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from agentworks_platform.app import CALLERS_EXTENSION
from agentworks_platform.errors import error_body
from agentworks_platform.event_stream import EVENT_STREAM


class ContractViolation(AssertionError):
    """A request or an answer the peer's OpenAPI document does not allow, or a call no test scripted."""


@dataclass(frozen=True)
class Answer:
    """What the stub answers: a status and a JSON body (or raw ``content`` of ``content_type``, or the JSON
    ``events`` of a server-sent stream)."""

    status: int = 200
    body: Any = None
    content: bytes | None = None
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    events: tuple[Any, ...] | None = None

    @classmethod
    def stream(cls, events: Sequence[Any], *, done: str | None = "[DONE]") -> Answer:
        """A ``text/event-stream`` answer: each event as JSON on a ``data:`` line, then ``done`` on its own line
        (OpenAI's chat completions end so; ``None`` for a stream that just ends). Each event is held to the schema
        the document gives the operation's event stream."""
        lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ([f"data: {done}\n\n"] if done else [])
        return cls(200, content="".join(lines).encode(), content_type=EVENT_STREAM, events=tuple(events))

    @classmethod
    def refusal(cls, status: int, code: str, message: str) -> Answer:
        """An error answer in the services' envelope (``{"error": {"code": …, "message": …}}``)."""
        return cls(status, error_body(code, message))

    def encoded(self) -> bytes:
        if self.content is not None:
            return self.content
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Call:
    """A request the stub accepted: its operation (``GET /internal/cards/{card_id}``) and what it carried."""

    operation: str
    path_params: dict[str, str]
    query: dict[str, list[str]]
    headers: httpx.Headers
    body: Any


Responder = Answer | Callable[[Call], Answer | Awaitable[Answer]]


@cache
def _document(contract: Path) -> tuple[OpenAPI, dict[str, Any]]:
    """The peer's document and its paths, read and checked once per process (a check costs a few hundred
    milliseconds)."""
    document = json.loads(contract.read_text())
    return OpenAPI.from_dict(document), document["paths"]


class _OpenAPIRequest:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request, body: bytes) -> None:
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        self.path = request.url.path
        self.full_url_pattern = f"{self.host_url}{self.path}"
        self.method = request.method.lower()
        self.body: bytes | None = body or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(request.url.query.decode("ascii"), keep_blank_values=True)),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _OpenAPIResponse:
    """An answer as openapi-core reads one."""

    def __init__(self, answer: Answer) -> None:
        self.status_code = answer.status
        self.content_type = answer.content_type
        self.headers = Headers({"content-type": answer.content_type, **answer.headers})
        self.data: bytes | None = answer.encoded() or None


class PeerStub(httpx.AsyncBaseTransport):
    """Answers a peer's operations as scripted by ``on``, refusing whatever the peer's contract does not allow."""

    def __init__(self, contract: Path) -> None:
        self.peer = contract.stem
        self._openapi, self._paths = _document(contract)
        self._finder = APICallPathFinder(self._openapi.spec)
        self._responders: dict[str, Responder] = {}
        self.calls: list[Call] = []
        self.violations: list[str] = []

    def on(self, method: str, path: str, answer: Responder) -> PeerStub:
        """Answer ``method path`` (a path template of the document, ``/internal/cards/{card_id}``) with ``answer``:
        a fixed ``Answer`` or a function of the ``Call``. Scripting an operation the peer lacks is refused."""
        operation = f"{method.upper()} {path}"
        if method.lower() not in self._paths.get(path, {}):
            raise ContractViolation(f"{self.peer} has no operation {operation}")
        self._responders[operation] = answer
        return self

    def calls_to(self, method: str, path: str) -> list[Call]:
        """The accepted calls to one operation, oldest first."""
        operation = f"{method.upper()} {path}"
        return [call for call in self.calls if call.operation == operation]

    def verify(self) -> None:
        """Raise the first violation seen, if any (the fixture owning the stub calls it when the test ends)."""
        if self.violations:
            raise ContractViolation("; ".join(self.violations))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        call = self._accepted(request, body)
        responder = self._responders.get(call.operation)
        if responder is None:
            self._refuse(f"{call.operation} was called but no answer was scripted")
        answer = responder if isinstance(responder, Answer) else responder(call)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, Answer)
        if answer.events is None:
            self._check_answer(request, body, answer)
        else:
            self._check_events(call, answer)
        return httpx.Response(
            answer.status,
            headers={"content-type": answer.content_type, **answer.headers},
            content=answer.encoded(),
            request=request,
        )

    def _accepted(self, request: httpx.Request, body: bytes) -> Call:
        wire = _OpenAPIRequest(request, body)
        try:
            found = self._finder.find(wire.method, wire.full_url_pattern)
        except PathError as exc:
            self._refuse(f"{request.method} {request.url.path}: {exc}")
        operation = f"{request.method} {found.path_result.pattern}"
        errors = [_explained(error) for error in self._openapi.iter_request_errors(wire)]
        errors += self._caller_errors(request, found.path_result.pattern)
        if errors:
            self._refuse(f"{operation} refuses the request: {'; '.join(errors)}")
        call = Call(
            operation=operation,
            path_params=dict(found.path_result.variables),
            query=parse_qs(request.url.query.decode("ascii"), keep_blank_values=True),
            headers=request.headers,
            body=json.loads(body) if body and wire.content_type.startswith("application/json") else body or None,
        )
        self.calls.append(call)
        return call

    def _caller_errors(self, request: httpx.Request, path: str) -> list[str]:
        """The service token's caller must be one the operation admits, and its audience the peer's URL."""
        admitted = self._paths[path][request.method.lower()].get(CALLERS_EXTENSION)
        if admitted is None:
            return []
        claims = _token_claims(request.headers.get("authorization", ""))
        caller = str(claims.get("sub", "")).partition("@")[0]
        errors = [] if caller in admitted else [f"the caller {caller or 'without a token'!r} is not one of {admitted}"]
        audience = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        if claims and claims.get("aud") != audience:
            errors.append(f"the token is for {claims.get('aud')!r}, not {audience!r}")
        return errors

    def _check_answer(self, request: httpx.Request, body: bytes, answer: Answer) -> None:
        wire = _OpenAPIRequest(request, body)
        errors = [_explained(error) for error in self._openapi.iter_response_errors(wire, _OpenAPIResponse(answer))]
        if errors:
            refused = f"cannot answer {answer.status} {answer.body!r}: {'; '.join(errors)}"
            self._refuse(f"{request.method} {request.url.path} {refused}")

    def _check_events(self, call: Call, answer: Answer) -> None:
        """Each event of a streamed answer must be valid against the schema of the operation's event stream."""
        method, _, path = call.operation.partition(" ")
        published = self._paths[path][method.lower()]["responses"].get(str(answer.status), {})
        schema = published.get("content", {}).get(EVENT_STREAM, {}).get("schema")
        if schema is None:
            self._refuse(f"{call.operation} publishes no {EVENT_STREAM} answer with status {answer.status}")
        validator = OAS31Validator(schema)
        for number, event in enumerate(answer.events or ()):
            # An event outside an anyOf is explained by why it fails each of its schemas.
            errors = [message for error in validator.iter_errors(event) for message in _messages(error)]
            if errors:
                self._refuse(f"{call.operation} cannot stream event {number} {event!r}: {'; '.join(errors)}")

    def _refuse(self, violation: str) -> NoReturn:
        message = f"{self.peer}: {violation}"
        self.violations.append(message)
        raise ContractViolation(message)


def _token_claims(authorization: str) -> dict[str, Any]:
    """The claims of a bearer JWT, unverified (the stub checks who calls; signatures are the real peer's check)."""
    scheme, _, token = authorization.partition(" ")
    parts = token.split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _messages(error: Any) -> list[str]:
    """A JSON Schema error's message and those of the errors beneath it (``anyOf``'s reasons, depth first)."""
    return [error.message, *(message for nested in error.context or () for message in _messages(nested))]


def _explained(error: Exception) -> str:
    """The error and the schema errors beneath it (openapi-core nests the useful part)."""
    details = [str(error)]
    cause = error.__cause__
    for nested in getattr(cause, "schema_errors", ()) or ([cause] if cause else []):
        details.append(getattr(nested, "message", str(nested)))
    return ": ".join(details)


@dataclass(frozen=True)
class Tenancy:
    """One workspace as ``CoreDirectory`` made it: a project with its board and a card."""

    workspace: uuid.UUID
    project: uuid.UUID
    board: uuid.UUID
    card: uuid.UUID


class CoreDirectory:
    """Core's answers to the lookups every other service makes, held in memory on a stub of core: who belongs to
    which workspace with what role (``/internal/workspaces/{id}/members/{user}``), and which workspace, project and
    board own each card, board and project (``/internal/{cards,boards,projects}/{id}``); anything else is 404."""

    def __init__(self, core: PeerStub) -> None:
        self.roles: dict[tuple[str, str], str] = {}
        self.owners: dict[tuple[str, str], dict[str, str]] = {}
        core.on("GET", "/internal/workspaces/{workspace_id}/members/{user_id}", self._membership)
        for kind in ("card", "board", "project"):
            core.on("GET", f"/internal/{kind}s/{{{kind}_id}}", self._owner)

    def tenancy(self, owner: uuid.UUID) -> Tenancy:
        """A new workspace owned by ``owner``, with a project, its board and a card."""
        workspace, board = uuid.uuid4(), uuid.uuid4()
        self.join(workspace, owner, "owner")
        project = self.project(workspace)
        self.owners[("board", str(board))] = {"workspace_id": str(workspace)}
        return Tenancy(workspace, project, board, self._card(workspace, project, board))

    def card(self, tenancy: Tenancy) -> uuid.UUID:
        """A new card on the tenancy's board."""
        return self._card(tenancy.workspace, tenancy.project, tenancy.board)

    def _card(self, workspace: uuid.UUID, project: uuid.UUID, board: uuid.UUID) -> uuid.UUID:
        card = uuid.uuid4()
        ids = {"workspace_id": workspace, "project_id": project, "board_id": board}
        self.owners[("card", str(card))] = {name: str(value) for name, value in ids.items()}
        return card

    def project(self, workspace: uuid.UUID) -> uuid.UUID:
        """A new project in ``workspace``."""
        project = uuid.uuid4()
        self.owners[("project", str(project))] = {"workspace_id": str(workspace), "project_id": str(project)}
        return project

    def join(self, workspace: uuid.UUID, user: uuid.UUID, role: str) -> None:
        self.roles[(str(workspace), str(user))] = role

    def _membership(self, call: Call) -> Answer:
        workspace, user = call.path_params["workspace_id"], call.path_params["user_id"]
        role = self.roles.get((workspace, user))
        if role is None:
            return Answer.refusal(404, "not_found", f"No member {user} in workspace {workspace}.")
        return Answer(200, {"workspace_id": workspace, "user_id": user, "role": role})

    def _owner(self, call: Call) -> Answer:
        [(name, value)] = call.path_params.items()
        kind = name.removesuffix("_id")
        owner = self.owners.get((kind, value))
        if owner is None:
            return Answer.refusal(404, "not_found", f"No {kind} with id {value}.")
        return Answer(200, owner)
