"""The dev supervisor's configuration: a fleet beside the first keeps to its own state and origins, a data
directory is held by one fleet at a time, and a service that dies now and then is not given up on."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest
from agentworks_gateway.config import GatewaySettings
from agentworks_localstack.dev import (
    MAX_RESTARTS,
    DataDirInUse,
    ServiceProcess,
    data_dir_of,
    hold_data_dir,
    main,
    parse_instances,
)
from agentworks_localstack.fleet import FLEET, ServiceSpec, fleet_data_dir
from agentworks_log_stream.config import LogStreamSettings

GATEWAY = next(spec for spec in FLEET if spec.name == "gateway")
LOG_STREAM = next(spec for spec in FLEET if spec.name == "log-stream")


def _args(*argv: str) -> Path:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--data-dir")
    return data_dir_of(parser.parse_args(list(argv)))


def _state_of(offset: int) -> set[str]:
    """Every path and URL a fleet at ``offset`` keeps its state in or is reached at."""
    data_dir = fleet_data_dir(offset)
    values: set[str] = {str(data_dir / "pubsub.db")}
    for spec in FLEET:
        env = spec.env(offset, data_dir, {})
        values |= {
            v
            for k, v in env.items()
            if k.endswith(("DATABASE_URL", "SIGNING_KEY_FILE", "BLOBS_DIR", "REPOS_DIR", "PORT"))
        }
    return values


def test_a_fleet_beside_the_first_shares_no_database_store_key_blobs_or_port() -> None:
    assert _args() == Path(".dev")
    assert _args("--port-offset", "1000") == Path(".dev/offset-1000")
    assert _args("--port-offset", "1000", "--data-dir", "/tmp/elsewhere") == Path("/tmp/elsewhere")
    first, beside = _state_of(0), _state_of(1000)
    assert "sqlite+aiosqlite:///.dev/core.db" in first
    assert "sqlite+aiosqlite:///.dev/offset-1000/core.db" in beside
    assert not first & beside
    core = next(spec for spec in FLEET if spec.name == "core")
    env = core.env(1000, fleet_data_dir(1000), {})
    assert env["AW_CORE_DATABASE_URL"] == "sqlite+aiosqlite:///.dev/offset-1000/core.db"
    assert env["AW_CORE_BILLING_URL"] == "http://127.0.0.1:9085"


def test_the_offset_gateway_accepts_its_own_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GATEWAY.env(1000, fleet_data_dir(1000), {}).items():
        monkeypatch.setenv(key, value)
    settings = GatewaySettings()
    assert settings.port == 9080
    assert settings.allowed_origins == ("http://localhost:9080", "http://127.0.0.1:9080")
    for key, value in LOG_STREAM.env(1000, fleet_data_dir(1000), {}).items():
        monkeypatch.setenv(key, value)
    assert LogStreamSettings().blobs_dir == Path(".dev/offset-1000/blobs")


def test_origins_or_a_database_the_developer_set_are_kept_but_ports_are_the_fleets() -> None:
    mine = {
        "AW_GATEWAY_ALLOWED_ORIGINS": json.dumps(["http://localhost:5173"]),
        "AW_GATEWAY_DATABASE_URL": "postgresql+asyncpg://db/gateway",
        "AW_GATEWAY_PORT": "1",
    }
    env = GATEWAY.env(1000, fleet_data_dir(1000), mine)
    assert env["AW_GATEWAY_ALLOWED_ORIGINS"] == mine["AW_GATEWAY_ALLOWED_ORIGINS"]
    assert env["AW_GATEWAY_DATABASE_URL"] == mine["AW_GATEWAY_DATABASE_URL"]
    assert env["AW_GATEWAY_PORT"] == "9080"


def test_a_data_directory_is_held_by_one_fleet_at_a_time(tmp_path: Path) -> None:
    data_dir = tmp_path / "offset-1000"
    with hold_data_dir(data_dir):
        with (
            pytest.raises(DataDirInUse, match=r"held by a running fleet \(supervisor pid \d+\)"),
            hold_data_dir(data_dir),
        ):
            pass
        with hold_data_dir(tmp_path / "another"):  # a fleet with a directory of its own is not held up
            pass
    with hold_data_dir(data_dir):  # released when its supervisor stops
        pass


def test_a_second_supervisor_on_a_held_directory_refuses_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "fleet"
    with hold_data_dir(data_dir):
        assert main(["--port-offset", "1000", "--data-dir", str(data_dir)]) == 1
    assert "is held by a running fleet" in capsys.readouterr().err
    assert sorted(p.name for p in data_dir.iterdir()) == ["fleet.lock"]  # no store, no key, no database


class FakeProcess:
    """A child that exits with ``code`` once the clock has moved on by its uptime."""

    def __init__(self, clock: FakeClock, uptime: float) -> None:
        self.clock, self.uptime, self.returncode = clock, uptime, None

    async def wait(self) -> int:
        self.clock.now += self.uptime
        self.returncode = 1
        return 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FlakyService(ServiceProcess):
    """A service whose every run lasts ``uptime`` seconds on a fake clock; backoffs take no time."""

    def __init__(self, uptime: float, runs: int) -> None:
        self.clock, self.uptime, self.runs = FakeClock(), uptime, 0
        self.backoffs: list[float] = []
        super().__init__(ServiceSpec("core", "agentworks_core", 8081), {}, 0, clock=self.clock, sleep=self._backoff)
        self.max_runs = runs

    async def _backoff(self, seconds: float) -> None:
        self.backoffs.append(seconds)

    async def _spawn(self) -> asyncio.subprocess.Process:
        self.runs += 1
        if self.runs >= self.max_runs:
            self.stopping = True
        return FakeProcess(self.clock, self.uptime)  # type: ignore[return-value]


async def test_a_service_that_keeps_crashing_at_once_is_given_up_on() -> None:
    service = FlakyService(uptime=1, runs=100)
    await service.start()
    await service.watch()
    assert service.runs == 1 + MAX_RESTARTS
    assert service.backoffs == [2, 4, 8, 10, 10]


async def test_the_restart_count_starts_afresh_after_a_healthy_period() -> None:
    service = FlakyService(uptime=61, runs=3 * MAX_RESTARTS)
    await service.start()
    await service.watch()
    assert service.runs == 3 * MAX_RESTARTS  # never given up on: each run was healthy for a minute
    assert set(service.backoffs) == {2}


def test_instances_listen_above_the_service_port_and_answer_to_the_services_url() -> None:
    twice = {"gateway": 2, "log-stream": 2}
    first, second = (GATEWAY.env(1000, fleet_data_dir(1000), {}, i, twice) for i in range(2))
    assert (first["AW_GATEWAY_PORT"], second["AW_GATEWAY_PORT"]) == ("9090", "9100")
    assert first["AW_GATEWAY_PUBLIC_URL"] == second["AW_GATEWAY_PUBLIC_URL"] == "http://127.0.0.1:9080"
    assert first["AW_GATEWAY_LOG_STREAM_URL"] == second["AW_GATEWAY_LOG_STREAM_URL"] == "http://127.0.0.1:9084"
    assert LOG_STREAM.env(1000, fleet_data_dir(1000), {}, 0, {"gateway": 2})["AW_LOG_STREAM_PORT"] == "9084"


def test_instance_counts_name_services_of_the_fleet() -> None:
    assert parse_instances("gateway=2,log-stream=3") == {"gateway": 2, "log-stream": 3}
    assert parse_instances("") == {}
    for wrong in ("gateway", "gateway=0", "gateway=10", "web=2", "gateway=two"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_instances(wrong)
