"""Generated contracts are committed and current: `make contracts` leaves no diff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_contracts_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "infra/scripts/contracts.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"run `make contracts`:\n{result.stdout}{result.stderr}"


def test_every_service_publishes_its_push_endpoints_in_openapi() -> None:
    import json

    from agentworks_pubsub import load_topology

    topology = load_topology()
    for sub in topology.push_subscriptions():
        document = json.loads((ROOT / "contracts" / "openapi" / f"{sub.subscriber}.json").read_text())
        assert sub.push_path in document["paths"], (sub.subscriber, sub.push_path)
        assert "/healthz" in document["paths"]
