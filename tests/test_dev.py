"""`make dev`'s supervisor: the fleet starts, answers health checks, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from agentworks_localstack.fleet import EMULATOR_PORT, FLEET

pytestmark = pytest.mark.stack


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _offset() -> int:
    for _ in range(50):
        offset = random.randrange(20000, 40000, 100)
        if all(_free(p + offset) for p in [EMULATOR_PORT, *(s.port for s in FLEET)]):
            return offset
    raise RuntimeError("no free block of ports")


def test_dev_fleet_starts_reports_and_stops_cleanly(tmp_path: Path) -> None:
    offset = _offset()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentworks_localstack.dev", "--port-offset", str(offset)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while not any("AgentWorks is running" in line for line in lines):
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(lines[-30:])
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines[-30:])
        for spec in FLEET:
            response = httpx.get(f"http://127.0.0.1:{spec.port + offset}/readyz", timeout=5)
            assert response.status_code == 200, spec.name
        assert (tmp_path / ".dev" / "core.db").exists()
        assert (tmp_path / ".dev" / "pubsub.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest[-2000:]
    assert rest.rstrip().endswith("stopped")
    summary = "".join(lines)
    for spec in FLEET:
        assert f"http://127.0.0.1:{spec.port + offset}" in summary
    time.sleep(0.5)
    assert all(_free(spec.port + offset) for spec in FLEET)
