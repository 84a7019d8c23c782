"""Generated contracts are committed and current: `make contracts` leaves no diff."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("contracts/events", "contracts/openapi", "services/gateway/web/src/api/generated")


def test_contracts_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "infra/scripts/contracts.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"run `make contracts`:\n{result.stdout}{result.stderr}"


def _contracts_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("contracts_script", ROOT / "infra" / "scripts" / "contracts.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_check_fails_when_a_web_type_or_the_board_json_drifts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in GENERATED:
        shutil.copytree(ROOT / folder, tmp_path / folder)
    web = tmp_path / "services/gateway/web/src/api/generated"
    core = web / "openapi/core.ts"
    core.write_text(core.read_text().replace("card_type: string;", "card_type: number;", 1))
    (web / "events/retired-events.ts").write_text("export type Retired = never;\n")
    from agentworks_core.projects import service

    badge = service._badge
    monkeypatch.setattr(service, "_badge", lambda b: {k: v for k, v in badge(b).items() if k != "awaiting_approval"})

    assert _contracts_script().main(["--check", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "board JSON drift: board.lanes[0].cards[1].runs.awaiting_approval: in BoardDetail but not rendered",
        "stale: services/gateway/web/src/api/generated/events/retired-events.ts",
        "stale: services/gateway/web/src/api/generated/openapi/core.ts",
    ]


def test_every_service_publishes_its_push_endpoints_in_openapi() -> None:
    import json

    from agentworks_pubsub import load_topology

    topology = load_topology()
    for sub in topology.push_subscriptions():
        document = json.loads((ROOT / "contracts" / "openapi" / f"{sub.subscriber}.json").read_text())
        assert sub.push_path in document["paths"], (sub.subscriber, sub.push_path)
        assert "/healthz" in document["paths"]
