"""Export the contracts: JSON Schema of every event, the OpenAPI document of every service, and the web
app's TypeScript types generated from both (by the web app's npm generators, so its packages must be installed).
Also checks that the board JSON core renders by hand is exactly its published ``BoardDetail``.

python infra/scripts/contracts.py          # write contracts/events, contracts/openapi and the web types
python infra/scripts/contracts.py --check  # exit 1 and list the stale files and any drift of the board JSON
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentworks_core import models
from agentworks_core.projects import service as projects
from agentworks_core.projects.board_cache import BoardCache
from agentworks_core.projects.schemas import BoardDetail
from agentworks_events import TOPIC_ADAPTERS
from agentworks_localstack.fleet import FLEET
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
WEB = ROOT / "services" / "gateway" / "web"
WEB_TYPES = WEB / "src" / "api" / "generated"
WEB_GENERATOR = ("node", "scripts/contract-types.mjs")


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
            for id_, position, parent_id in ((parent, 0, None), (card, 1, parent)):
                session.add(
                    models.Card(
                        id=id_, workspace_id=workspace, project_id=project, board_id=board, lane_id=lane,
                        position=position, title="Sample", description="Every field set", assignee_id=uuid.uuid4(),
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


def _differences(where: str, rendered: Any, published: Any) -> Iterator[str]:
    if isinstance(rendered, dict) and isinstance(published, dict):
        for key in sorted(rendered.keys() | published.keys()):
            if key not in published:
                yield f"{where}.{key}: rendered but not in BoardDetail"
            elif key not in rendered:
                yield f"{where}.{key}: in BoardDetail but not rendered"
            else:
                yield from _differences(f"{where}.{key}", rendered[key], published[key])
    elif isinstance(rendered, list) and isinstance(published, list) and len(rendered) == len(published):
        for index, (mine, theirs) in enumerate(zip(rendered, published, strict=True)):
            yield from _differences(f"{where}[{index}]", mine, theirs)
    elif rendered != published:
        yield f"{where}: rendered {rendered!r}, BoardDetail gives {published!r}"


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
    files = {root / path.relative_to(ROOT): text for path, text in render().items()}
    outdated = stale(files)
    drift = board_json_drift()
    for problem in drift:
        sys.stdout.write(f"board JSON drift: {problem}\n")
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
