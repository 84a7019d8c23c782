"""Run the benchmarks (all, or those named), print each figure next to its budget, write JSON results."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("router", "pipeline", "gateway", "cards", "fanout", "billing", "backbone", "lighthouse")


def _mark(result: dict[str, Any]) -> str:
    passed = result.get("passed")
    return "" if passed is None else ("pass" if passed else "MISS")


def _table(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'measurement'.ljust(width)}  {'value':>12}       budget"]
    lines += [
        f"{r['name'].ljust(width)}  {r['value']:>12,.2f} {r['unit']:<5} {r['budget']}  {_mark(r)}".rstrip()
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(PARTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    RESULTS.mkdir(exist_ok=True)
    everything: list[dict[str, Any]] = []
    for part in args.parts or PARTS:
        sys.stdout.write(f"running {part}…\n")
        sys.stdout.flush()
        rows: list[dict[str, Any]] = importlib.import_module(f"bench.{part}").run()
        (RESULTS / f"{part}.json").write_text(json.dumps(rows, indent=2) + "\n")
        everything += rows
    sys.stdout.write("\n" + _table(everything))
    sys.stdout.write(f"\nresults written to {RESULTS}/\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
