"""Export the contracts: JSON Schema of every event and the OpenAPI document of every service.

python infra/scripts/contracts.py          # write contracts/events and contracts/openapi
python infra/scripts/contracts.py --check  # exit 1 and list the files that are stale
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from agentworks_events import TOPIC_ADAPTERS
from agentworks_localstack.fleet import FLEET

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"


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


def render() -> dict[Path, str]:
    return {**event_schemas(), **openapi_documents()}


def stale(files: dict[Path, str]) -> list[Path]:
    expected_dirs = {path.parent for path in files}
    extra = [p for d in expected_dirs if d.exists() for p in d.glob("*.json") if p not in files]
    changed = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    return sorted(changed + extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    args = parser.parse_args(argv)
    files = render()
    outdated = stale(files)
    if args.check:
        for path in outdated:
            sys.stdout.write(f"stale: {path.relative_to(ROOT)}\n")
        return 1 if outdated else 0
    for path in outdated:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
        else:
            path.unlink()
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
