"""`make bench`'s harness: part selection, the table's pass/miss marks, the JSON results, and budgets that match
what bench/README.md states. The measurements themselves are benchmarks, never timed tests."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the bench package lives at the repository's root, outside the workspace

from bench import __main__ as bench_main  # noqa: E402
from bench import billing, cards, fanout, gateway, lighthouse, pipeline, router  # noqa: E402
from bench.common import percentile, row  # noqa: E402


def test_an_unknown_part_is_refused_with_the_parts_there_are() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "routr"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    parts = "router, pipeline, gateway, cards, fanout, billing, backbone, lighthouse"
    assert f"unknown part(s): routr; choose from {parts}" in result.stderr
    assert "Traceback" not in result.stderr


def test_percentiles_interpolate_between_samples() -> None:
    samples = [float(v) for v in range(1, 101)]
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0


def test_each_figure_is_printed_next_to_its_budget_and_written_as_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        row("router added latency, p99", 7.6, "ms", "p99 ≤ 10 ms", True),
        row("board read, sqlite", 42.0, "req/s", "≥ 100 req/s", False),
        row("router throughput", 188.0, "req/s", "informational"),
    ]
    part = types.ModuleType("bench.router")
    part.run = lambda: rows  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.router", part)
    monkeypatch.setattr(bench_main, "RESULTS", tmp_path)
    assert bench_main.main(["router"]) == 0
    printed = {line.split("  ")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert printed["router added latency, p99"].endswith("p99 ≤ 10 ms  pass")
    assert printed["board read, sqlite"].endswith("≥ 100 req/s  MISS")
    assert printed["router throughput"].endswith("informational")
    assert json.loads((tmp_path / "router.json").read_text()) == rows


def _parts_table() -> dict[str, str]:
    """bench/README.md's table of parts: each part's budget column."""
    table: dict[str, str] = {}
    for line in (ROOT / "bench" / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            table[cells[0].strip("`")] = cells[2]
    return table


def test_the_readme_states_the_budgets_the_bench_judges() -> None:
    stated: dict[str, list[str]] = {
        "router": [f"p99 added ≤ {router.ADDED_P99_BUDGET:,g} ms"],
        "pipeline": [f"p50 ≤ {pipeline.FIRST_LINE_P50:,g} ms", f"p99 ≤ {pipeline.FIRST_LINE_P99:,g} ms"],
        "gateway": [f"≥ {gateway.BOARD_BUDGET:,g} req/s"],
        "cards": [f"p99 ≤ {cards.P99_BUDGET:,g} ms"],
        "fanout": [f"p99 ≤ {fanout.P99_BUDGET:,g} ms"],
        "billing": [f"≥ {billing.INGEST_BUDGET:,g} distinct events/s"],
        "lighthouse": [f"≥ {lighthouse.SCORE_BUDGET}"],
    }
    table = _parts_table()
    for part, phrases in stated.items():
        for phrase in phrases:
            assert phrase in table[part], f"bench/README.md's {part} budget should say {phrase!r}: {table[part]!r}"
