"""Run every benchmark, print a table, and write JSON results to bench/results/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import backbone

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    rows = backbone.run()
    width = max(len(r["name"]) for r in rows)
    sys.stdout.write(f"{'measurement'.ljust(width)}  {'value':>12}  budget\n")
    for row in rows:
        sys.stdout.write(f"{row['name'].ljust(width)}  {row['value']:>10.2f} {row['unit']:<4} {row['budget']}\n")
    (RESULTS / "backbone.json").write_text(json.dumps(rows, indent=2) + "\n")
    sys.stdout.write(f"\nresults written to {RESULTS / 'backbone.json'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
