"""The public routing table, derived from the services' published OpenAPI documents (``contracts/openapi``).

Only ``/api/…`` operations are public. A request is forwarded only when its method and decoded path match one
of them, segment by segment: a literal equals its segment, a ``{parameter}`` takes exactly one non-empty segment.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentworks_platform.errors import AppError, NotFound

PUBLIC_PREFIX = "/api/"
CALLERS_EXTENSION = "x-agentworks-callers"  # on each operation a service token guards: the services it admits
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
Documents = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class PublicRoute:
    """One public path template of one service, with the methods it answers."""

    owner: str
    template: str
    methods: frozenset[str]
    segments: tuple[str | None, ...]  # None stands for a parameter

    @classmethod
    def parse(cls, owner: str, template: str, methods: Iterable[str]) -> PublicRoute:
        segments = tuple(
            None if part.startswith("{") and part.endswith("}") else part for part in template[1:].split("/")
        )
        return cls(owner, template, frozenset(m.upper() for m in methods), segments)

    def matches(self, segments: Sequence[str]) -> bool:
        return len(segments) == len(self.segments) and all(
            actual != "" if expected is None else actual == expected
            for expected, actual in zip(self.segments, segments, strict=True)
        )

    @property
    def specificity(self) -> tuple[bool, ...]:
        """Sorts literal segments before parameters, left to right."""
        return tuple(segment is None for segment in self.segments)


class MethodNotAllowed(AppError):
    status_code = 405
    code = "method_not_allowed"


class RouteTable:
    """Every public route of the fleet; :meth:`find` says which service owns a request."""

    def __init__(self, routes: Iterable[PublicRoute]) -> None:
        self.routes = tuple(sorted(routes, key=lambda r: (len(r.segments), r.specificity, r.template)))
        self._by_length: dict[int, list[PublicRoute]] = defaultdict(list)
        for route in self.routes:
            self._by_length[len(route.segments)].append(route)
        _refuse_ambiguity(self.routes)

    @classmethod
    def from_documents(
        cls, documents: Documents, prefix: str = PUBLIC_PREFIX, admitting: str | None = None
    ) -> RouteTable:
        """The operations under ``prefix``; with ``admitting``, only those whose published callers include it."""
        routes = (
            PublicRoute.parse(owner, template, _methods(operations, admitting))
            for owner, document in documents.items()
            for template, operations in document.get("paths", {}).items()
            if template.startswith(prefix)
        )
        return cls(route for route in routes if route.methods)

    @property
    def owners(self) -> frozenset[str]:
        return frozenset(route.owner for route in self.routes)

    def find(self, method: str, segments: Sequence[str]) -> PublicRoute:
        """The route answering ``method`` on this path; 404 when no public path matches, 405 for another method."""
        candidates = [route for route in self._by_length.get(len(segments), ()) if route.matches(segments)]
        for route in candidates:
            if method in route.methods:
                return route
        if not candidates:
            raise NotFound("No such endpoint.")
        allowed = ", ".join(sorted(set().union(*(route.methods for route in candidates))))
        raise MethodNotAllowed(f"This endpoint answers {allowed}.", headers={"Allow": allowed})


def _methods(operations: Mapping[str, Any], admitting: str | None) -> list[str]:
    return [
        method
        for method, operation in operations.items()
        if method in HTTP_METHODS and (admitting is None or admitting in operation.get(CALLERS_EXTENSION, ()))
    ]


def _refuse_ambiguity(routes: Sequence[PublicRoute]) -> None:
    """Two services publishing the same method on the same template would make ownership a matter of order."""
    seen: dict[tuple[str, tuple[str | None, ...]], str] = {}
    for route in routes:
        for method in route.methods:
            owner = seen.setdefault((method, route.segments), route.owner)
            if owner != route.owner:
                raise ValueError(f"{method} {route.template} is published by both {owner} and {route.owner}")


def load_documents(directory: Path) -> dict[str, dict[str, Any]]:
    """The published OpenAPI document of each service, by service name (the file's stem)."""
    documents = {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}
    if not documents:
        raise FileNotFoundError(f"no OpenAPI documents in {directory}; run `make contracts`")
    return documents


def merged_document(own: Mapping[str, Any], documents: Documents) -> dict[str, Any]:
    """The public API document: the gateway's own routes plus every ``/api`` route the services publish."""
    merged: dict[str, Any] = {
        **own,
        "paths": dict(own["paths"]),
        "components": {"schemas": dict(own.get("components", {}).get("schemas", {}))},
    }
    for document in documents.values():
        paths = document.get("paths", {})
        merged["paths"].update({p: v for p, v in paths.items() if p.startswith(PUBLIC_PREFIX)})
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
    return merged
