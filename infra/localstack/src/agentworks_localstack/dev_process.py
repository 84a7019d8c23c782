"""A whole fleet started as `make dev` starts it, in a process of its own: for tests and benchmarks that drive it
from outside."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from agentworks_localstack.fleet import GATEWAY_PORT, Instances

STARTUP_SECONDS = 120.0


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
            yield f"http://127.0.0.1:{GATEWAY_PORT + offset}"
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
