"""`make dev`'s supervisor: the fleet starts, answers health checks, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from agentworks_localstack.fleet import FLEET, free_port_offset, port_free
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

pytestmark = pytest.mark.stack


def _move_a_card_through_the_gateway(gateway: str, origin: str) -> tuple[str, dict[str, str]]:
    with httpx.Client(base_url=gateway, headers={"origin": origin}, timeout=10) as client:
        signup = client.post("/api/auth/signup", json={"email": "dev@example.com", "password": "correct horse battery"})
        assert signup.status_code == 201, signup.text
        workspace = client.post("/api/workspaces", json={"name": "Dev"}).json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Shop"}).json()
        card = client.post(f"/api/projects/{project['id']}/cards", json={"title": "Checkout"}).json()
        lanes = client.get(f"/api/boards/{project['board_id']}").json()["lanes"]
        moved = client.put(f"/api/cards/{card['id']}/move", json={"lane_id": lanes[1]["id"]})
        assert moved.status_code == 200, moved.text
        return str(card["id"]), dict(client.cookies)


async def _terminal_handshake(gateway: str, card_id: str, cookies: dict[str, str], origin: str) -> int:
    """101 when the gateway opens the card's terminal for a browser on ``origin``, else the refusal's status."""
    url = gateway.replace("http", "ws", 1) + f"/api/cards/{card_id}/terminal"
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    try:
        async with connect(url, additional_headers={"cookie": cookie}, origin=origin):  # type: ignore[arg-type]
            return 101
    except InvalidStatus as refused:
        return int(refused.response.status_code)


def _second_supervisor_on(data_dir: Path, offset: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentworks_localstack.dev", "--port-offset", str(offset), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _wait_for_inbox(database: Path, card_id: str) -> None:
    """The card.moved event reached the service's push endpoint and was recorded in its inbox."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(database)) as db:
            types = [r[0] for r in db.execute("SELECT event_type FROM inbox")]
        if "card.moved" in types:
            return
        time.sleep(0.1)
    raise AssertionError(f"{database.name} never recorded card.moved for {card_id}")


def test_dev_fleet_starts_reports_and_stops_cleanly(tmp_path: Path) -> None:
    offset = free_port_offset()
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
        data_dir = tmp_path / ".dev" / f"offset-{offset}"  # a fleet beside the first keeps to its own directory
        assert (data_dir / "core.db").exists()
        assert (data_dir / "pubsub.db").exists()
        assert not (tmp_path / ".dev" / "core.db").exists()
        gateway, origin = f"http://127.0.0.1:{8080 + offset}", f"http://localhost:{8080 + offset}"
        moved_card, cookies = _move_a_card_through_the_gateway(gateway, origin)
        _wait_for_inbox(data_dir / "orchestrator.db", moved_card)
        _wait_for_inbox(data_dir / "log-stream.db", moved_card)
        assert asyncio.run(_terminal_handshake(gateway, moved_card, cookies, origin)) == 101
        assert asyncio.run(_terminal_handshake(gateway, moved_card, cookies, "http://localhost:8080")) == 403
        second = _second_supervisor_on(data_dir, offset + 100)
        assert second.returncode == 1
        assert "is held by a running fleet" in second.stderr
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest[-2000:]
    assert rest.rstrip().endswith("stopped")
    summary = "".join(lines)
    for spec in FLEET:
        assert f"http://127.0.0.1:{spec.port + offset}" in summary
    time.sleep(0.5)
    assert all(port_free(spec.port + offset) for spec in FLEET)
