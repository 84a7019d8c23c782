"""A whole fleet started as `make dev` starts it, in a process of its own: for tests and benchmarks that drive it
from outside."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agentworks_localstack.fleet import FLEET, GATEWAY_PORT, Instances, fleet_data_dir

STARTUP_SECONDS = 120.0
PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class DevFleet:
    """A running ``agentworks-dev``: the gateway's URL, the supervisor's process and where the fleet keeps its
    state (its SQLite databases unless the environment names others)."""

    gateway: str
    supervisor: subprocess.Popen[str]
    data_dir: Path
    offset: int
    instances: Instances | None = None

    def service_pid(self, name: str, instance: int = 0) -> int | None:
        """The process id of a service's instance (a child of the supervisor listening on the instance's port);
        None while there is none, as between a crash and the supervisor's restart."""
        spec = next(spec for spec in FLEET if spec.name == name)
        port = str(spec.port_of(self.offset, instance, self.instances))
        for pid in _children(self.supervisor.pid):
            arguments = _arguments(pid)
            if f"{spec.package}.app:create_app" in arguments and _option(arguments, "--port") == port:
                return pid
        return None

    def kill(self, name: str, instance: int = 0) -> int:
        """Kill a service's instance outright (SIGKILL: no shutdown, as a lost machine ends it); returns its pid.
        The supervisor starts it again, as Cloud Run replaces an instance."""
        pid = self.service_pid(name, instance)
        if pid is None:
            raise LookupError(f"{name} #{instance} is not running")
        os.kill(pid, signal.SIGKILL)
        return pid


def _children(parent: int) -> list[int]:
    """Live processes whose parent is ``parent``, read from ``/proc/<pid>/stat`` (its fourth field)."""
    children = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            children.append(int(entry.name))
    return children


def _arguments(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_text().split("\0")
    except OSError:
        return []


def _option(arguments: list[str], name: str) -> str | None:
    return arguments[arguments.index(name) + 1] if name in arguments[:-1] else None


@contextmanager
def dev_fleet(
    workdir: Path,
    offset: int,
    env: Mapping[str, str],
    instances: Instances | None = None,
    startup_seconds: float = STARTUP_SECONDS,
) -> Iterator[str]:
    """``agentworks-dev --port-offset`` run in ``workdir`` (its log in ``fleet.log``) until the block ends, as
    Ctrl-C ends it; yields the gateway's URL (its round-robin front with several gateways) once the fleet says it
    is running. ``instances`` runs several instances of the services it names."""
    with running_dev_fleet(workdir, offset, env, instances, startup_seconds) as fleet:
        yield fleet.gateway


@contextmanager
def running_dev_fleet(
    workdir: Path,
    offset: int,
    env: Mapping[str, str],
    instances: Instances | None = None,
    startup_seconds: float = STARTUP_SECONDS,
) -> Iterator[DevFleet]:
    """``dev_fleet``, yielding the running fleet itself: for tests that read its state or kill its services."""
    log_path = workdir / "fleet.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentworks_localstack.dev",
                "--port-offset",
                str(offset),
                "--instances",
                ",".join(f"{name}={count}" for name, count in (instances or {}).items()),
                "--health-timeout",
                str(startup_seconds),
            ],
            cwd=workdir,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_running(process, log_path, startup_seconds)
            gateway = f"http://127.0.0.1:{GATEWAY_PORT + offset}"
            yield DevFleet(gateway, process, workdir / fleet_data_dir(offset), offset, instances)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class FleetDidNotStart(RuntimeError):
    """The fleet exited or did not say it was running in time; the message ends with its log."""


def _wait_running(process: subprocess.Popen[str], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while "AgentWorks is running" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise FleetDidNotStart(log.read_text()[-3000:])
        time.sleep(0.2)
