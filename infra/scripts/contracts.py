"""Export the contracts: JSON Schema of every event, the OpenAPI document of every service, and the web
app's TypeScript types generated from both (by the web app's npm generators, so its packages must be installed).
Also checks that the board JSON core renders by hand is exactly its published ``BoardDetail``, and that the
internal routes hold to their contracts: each answers a declared model, each one another service calls is in
``agentworks_internal_api``'s catalogue with the very schema its service publishes, and no source outside that
library spells an internal path (a caller that did would read the answer without its model).

python infra/scripts/contracts.py          # write contracts/events, contracts/openapi and the web types
python infra/scripts/contracts.py --check  # exit 1 and list the stale files and any drift
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import importlib
import inspect
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from agentworks_core import models
from agentworks_core.projects import service as projects
from agentworks_core.projects.board_cache import BoardCache
from agentworks_core.projects.schemas import BoardDetail
from agentworks_events import TOPIC_ADAPTERS
from agentworks_internal_api import ROUTES, Command, InternalRoute
from agentworks_localstack.fleet import FLEET
from agentworks_platform.app import CALLERS_EXTENSION
from agentworks_platform.input_rules import document_text_rule
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
WEB = ROOT / "services" / "gateway" / "web"
WEB_TYPES = WEB / "src" / "api" / "generated"
WEB_GENERATOR = ("node", "scripts/contract-types.mjs")
INTERNAL_PREFIX = "/internal/"
INTERNAL_API_SOURCE = Path("libs/internal-api/src")
Part = Literal["answer", "body"]


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def event_schemas() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for topic, adapter in TOPIC_ADAPTERS.items():
        schema = adapter.json_schema()
        schema["title"] = f"{topic} event"
        schema["$id"] = f"https://agentworks.dev/contracts/events/{topic}.json"
        files[CONTRACTS / "events" / f"{topic}.json"] = _dump(schema)
    return files


def openapi_documents() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for spec in FLEET:
        module = importlib.import_module(f"{spec.package}.app")
        document = module.create_app().openapi()
        files[CONTRACTS / "openapi" / f"{spec.name}.json"] = _dump(document)
    return files


def web_types(contracts: dict[Path, str]) -> dict[Path, str]:
    """The web app's types: ``contracts/<kind>/<name>.json`` becomes ``src/api/generated/<kind>/<name>.ts``, for
    every event topic and every service with a public (``/api/``) route, the only ones a browser can call."""
    request: dict[str, dict[str, Any]] = {"openapi": {}, "events": {}}
    for path, text in contracts.items():
        document = json.loads(text)
        if path.parent.name == "events" or any(route.startswith("/api/") for route in document["paths"]):
            request[path.parent.name][path.stem] = document
    generated: dict[str, str] = json.loads(_run_web_generator(json.dumps(request)))
    return {WEB_TYPES / name: text for name, text in generated.items()}


def _run_web_generator(request: str) -> str:
    if not (WEB / "node_modules" / "openapi-typescript").is_dir():
        raise SystemExit("the web app's packages are missing: run `make web` (npm ci in services/gateway/web)")
    result = subprocess.run(WEB_GENERATOR, cwd=WEB, input=request, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"generating the web types failed:\n{result.stderr}")
    return result.stdout


def render() -> dict[Path, str]:
    contracts = {**event_schemas(), **openapi_documents()}
    return {**contracts, **web_types(contracts)}


def board_json_drift() -> list[str]:
    """Where a sample board's JSON, as core renders it by hand, differs from the same JSON read as ``BoardDetail``."""
    rendered = json.loads(asyncio.run(_sample_board_json()))
    try:
        published = BoardDetail.model_validate(rendered).model_dump(mode="json")
    except ValidationError as error:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
    return list(_differences("board", rendered, published))


async def _sample_board_json() -> bytes:
    """A board with a lane holding a card with every field set and a run, rendered on an in-memory database."""
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as connection:
        await connection.run_sync(models.metadata.create_all)
    try:
        async with AsyncSession(engine) as session:
            workspace, project, board, lane, parent, card = (uuid.uuid4() for _ in range(6))
            session.add(models.Board(id=board, workspace_id=workspace, project_id=project, name="Sample"))
            session.add(
                models.Lane(id=lane, workspace_id=workspace, board_id=board, number=0, position=0, name="Ready")
            )
            for id_, key, parent_id in ((parent, 1, None), (card, 2, parent)):
                session.add(
                    models.Card(
                        id=id_, workspace_id=workspace, project_id=project, board_id=board, lane_id=lane,
                        order_key=key, title="Sample", description="Every field set", assignee_id=uuid.uuid4(),
                        parent_id=parent_id,
                    )
                )  # fmt: skip
            session.add(
                models.AgentRun(
                    id=uuid.uuid4(), workspace_id=workspace, project_id=project, card_id=card, agent="prd",
                    status="completed", price=Decimal("0.25"), approval="pending",
                )
            )  # fmt: skip
            await session.flush()
            return await projects.board_json(session, BoardCache(max_bytes=1 << 20), board, revision=0)
    finally:
        await engine.dispose()


def _differences(
    where: str, rendered: Any, published: Any, names: tuple[str, str] = ("rendered", "BoardDetail")
) -> Iterator[str]:
    """Where two JSON values differ; ``names`` say what each one is (the first and the second)."""
    first, second = names
    if isinstance(rendered, dict) and isinstance(published, dict):
        for key in sorted(rendered.keys() | published.keys()):
            if key not in published:
                yield f"{where}.{key}: {first} but not in {second}"
            elif key not in rendered:
                yield f"{where}.{key}: in {second} but not {first}"
            else:
                yield from _differences(f"{where}.{key}", rendered[key], published[key], names)
    elif isinstance(rendered, list) and isinstance(published, list) and len(rendered) == len(published):
        for index, (mine, theirs) in enumerate(zip(rendered, published, strict=True)):
            yield from _differences(f"{where}[{index}]", mine, theirs, names)
    elif rendered != published:
        yield f"{where}: {first} {rendered!r}, {second} gives {published!r}"


def internal_contract_drift(documents: dict[str, dict[str, Any]]) -> list[str]:
    """Where an internal route (``documents``: each service's OpenAPI document by name) breaks its contract: it
    answers no declared model; another service calls it but the catalogue lacks it; or the catalogue's models
    are not the schemas the service publishes for it (so a caller would parse the answer differently)."""
    fleet = {spec.name for spec in FLEET}
    catalogue: dict[tuple[str, str, str], InternalRoute] = {(r.service, r.method, r.path): r for r in ROUTES}
    problems: list[str] = []
    for service, document in sorted(documents.items()):
        for path, operations in sorted(document["paths"].items()):
            for method, operation in sorted(operations.items()) if path.startswith(INTERNAL_PREFIX) else ():
                where = f"{service} {method.upper()} {path}"
                callers = sorted(set(operation.get(CALLERS_EXTENSION, ())) & fleet)
                route = catalogue.pop((service, method.upper(), path), None)
                if not _answers_a_model(operation):
                    problems.append(f"{where}: answers no declared model")
                if route is not None:
                    problems += [f"{where}: {p}" for p in _route_drift(service, route, operation, document)]
                elif callers:
                    problems.append(f"{where}: called by {', '.join(callers)}, but not in agentworks_internal_api")
    problems += [f"{s} {m} {p}: in agentworks_internal_api, but {s} does not serve it" for s, m, p in catalogue]
    return problems


def _answers_a_model(operation: dict[str, Any]) -> bool:
    """Every success answer is a named schema (a Pydantic model), or 204 without content."""
    answers = {status: answer for status, answer in operation["responses"].items() if status.startswith("2")}
    for status, answer in answers.items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if (status != "204" or schema is not None) and (schema is None or "$ref" not in schema):
            return False
    return bool(answers)


def _route_drift(
    service: str, route: InternalRoute, operation: dict[str, Any], document: dict[str, Any]
) -> Iterator[str]:
    components = document.get("components", {}).get("schemas", {})
    answers = operation["responses"]
    if isinstance(route, Command):
        if "204" not in answers or "content" in answers["204"]:
            yield "it answers with content, but agentworks_internal_api expects 204 and nothing"
        yield from _schema_drift(service, "body", route.body, _body_schema(operation), components)
        return
    yield from _schema_drift(service, "answer", route.answer, _json_schema(answers.get("200", {})), components)


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    return _json_schema(operation.get("requestBody", {}))


def _json_schema(part: dict[str, Any]) -> dict[str, Any] | None:
    schema: dict[str, Any] | None = part.get("content", {}).get("application/json", {}).get("schema")
    return schema


def _schema_drift(
    service: str, what: Part, model: type[BaseModel], published: dict[str, Any] | None, components: dict[str, Any]
) -> Iterator[str]:
    """The first difference between what the service publishes and the model's schema as FastAPI publishes it,
    both with every $ref inlined (so the names given to components do not matter)."""
    ours, definitions = _as_published(what, model)
    theirs = None if published is None else _inlined(published, components)
    names = (f"in {model.__name__}", f"{service}'s document")
    difference = next(_differences(what, _inlined(ours, definitions), theirs, names), None)
    if difference is not None:
        yield f"{service} publishes another {what} than agentworks_internal_api's {model.__name__} ({difference})"


def _as_published(what: Part, model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's schema and components in an OpenAPI document of one route answering (or taking) it."""

    async def probe(**_: Any) -> None:
        """Never called: the route exists only for its document."""

    app = FastAPI()
    if what == "body":
        body = inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=model)
        probe.__signature__ = inspect.Signature([body])  # type: ignore[attr-defined]
        app.add_api_route("/probe", probe, methods=["POST"], status_code=204)
    else:
        app.add_api_route("/probe", probe, methods=["GET"], response_model=model)
    document = app.openapi()
    document_text_rule(document)
    operation = document["paths"]["/probe"]["post" if what == "body" else "get"]
    schema = _body_schema(operation) if what == "body" else _json_schema(operation["responses"]["200"])
    assert schema is not None
    return schema, document.get("components", {}).get("schemas", {})


def _inlined(schema: Any, components: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_inlined(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return _inlined({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, components)
    return {key: _inlined(value, components) for key, value in schema.items()}


def untyped_internal_calls(root: Path) -> list[str]:
    """Internal paths spelled in the services' and libraries' code outside ``agentworks_internal_api``: a call
    made that way reads its answer without the route's model. A route's own path may be spelled (see
    ``_served_paths``)."""
    sources = sorted([*root.glob("services/*/src/**/*.py"), *root.glob("libs/*/src/**/*.py")])
    return [
        f"{source.relative_to(root)}:{line}: calls an internal route by its path; call it through"
        " agentworks_internal_api's catalogue"
        for source in sources
        if not source.is_relative_to(root / INTERNAL_API_SOURCE)
        for line in _internal_paths(source.read_text())
    ]


def _internal_paths(text: str) -> Iterator[int]:
    tree = ast.parse(text)
    served = {id(part) for node in ast.walk(tree) for path in _served_paths(node) for part in ast.walk(path)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in served:
            yield from [node.lineno] if INTERNAL_PREFIX in node.value else []


def _served_paths(node: ast.AST) -> Iterator[ast.AST]:
    """Where a path is a route's own rather than a call's: a definition's docstring, a router's ``prefix=``, a
    route decorator's path, and the path a test stub answers (``stub.on(method, path, answer)``)."""
    if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            yield first.value
    if isinstance(node, ast.Call):
        yield from (keyword.value for keyword in node.keywords if keyword.arg == "prefix")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "on" and len(node.args) > 1:
            yield node.args[1]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        yield from (d.args[0] for d in node.decorator_list if isinstance(d, ast.Call) and d.args)


def stale(files: dict[Path, str]) -> list[Path]:
    expected = {(path.parent, path.suffix) for path in files}
    extra = [p for d, suffix in expected if d.exists() for p in d.glob(f"*{suffix}") if p not in files]
    changed = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    return sorted(changed + extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to check or write (default: this one)")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    rendered = render()
    files = {root / path.relative_to(ROOT): text for path, text in rendered.items()}
    outdated = stale(files)
    documents = {p.stem: json.loads(t) for p, t in rendered.items() if p.parent == CONTRACTS / "openapi"}
    drift = [f"board JSON drift: {problem}" for problem in board_json_drift()]
    drift += [f"internal contract drift: {problem}" for problem in internal_contract_drift(documents)]
    drift += [f"untyped internal call: {problem}" for problem in untyped_internal_calls(root)]
    for problem in drift:
        sys.stdout.write(f"{problem}\n")
    if args.check:
        for path in outdated:
            sys.stdout.write(f"stale: {path.relative_to(root)}\n")
        return 1 if outdated or drift else 0
    for path in outdated:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
        else:
            path.unlink()
        sys.stdout.write(f"wrote {path.relative_to(root)}\n")
    return 1 if drift else 0


if __name__ == "__main__":
    raise SystemExit(main())
