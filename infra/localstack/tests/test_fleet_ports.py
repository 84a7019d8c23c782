from __future__ import annotations

from pathlib import Path

import pytest
from agentworks_localstack import fleet
from agentworks_localstack.fleet import (
    BROWSER_BLOCKED_PORTS,
    EMULATOR_PORT,
    FLEET,
    GATEWAY_PORT,
    ephemeral_ports_start,
    fleet_ports,
    free_port_offset,
    port_free,
)


def test_fleet_ports_are_picked_below_the_ephemeral_range() -> None:
    start = ephemeral_ports_start()
    for _ in range(20):
        offset = free_port_offset()
        assert max(port + offset for port in [EMULATOR_PORT, *(spec.port for spec in FLEET)]) < start


def test_the_ephemeral_range_is_read_from_the_kernel_or_defaults(tmp_path: Path) -> None:
    configured = tmp_path / "ip_local_port_range"
    configured.write_text("20000\t60999\n")
    assert ephemeral_ports_start(configured) == 20000
    assert ephemeral_ports_start(tmp_path / "missing") == 32768


def test_a_port_someone_is_bound_to_is_not_free() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # bound, not listening: a connection's local end looks like this
        assert not port_free(taken.getsockname()[1])


def test_no_fleet_port_is_one_a_browser_refuses_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = 10080 - GATEWAY_PORT  # the web app would be served on 10080, which Chromium refuses (ERR_UNSAFE_PORT)
    offsets = iter([blocked, blocked, 3000])
    monkeypatch.setattr(fleet.random, "randrange", lambda *_: next(offsets))
    offset = free_port_offset()
    assert offset == 3000
    assert not BROWSER_BLOCKED_PORTS.intersection(port + offset for port in fleet_ports(FLEET, None))
