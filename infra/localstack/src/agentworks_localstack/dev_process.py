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

from agentworks_localstack.fleet import GATEWAY_PORT

STARTUP_SECONDS = 120


@contextmanager
def dev_fleet(workdir: Path, offset: int, env: Mapping[str, str]) -> Iterator[str]:
    """``agentworks-dev --port-offset`` run in ``workdir`` (its log in ``fleet.log``) until the block ends, as
    Ctrl-C ends it; yields the gateway's URL once the fleet says it is running."""
    log_path = workdir / "fleet.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentworks_localstack.dev", "--port-offset", str(offset)],
            cwd=workdir,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_running(process, log_path)
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


def _wait_running(process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while "AgentWorks is running" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise FleetDidNotStart(log.read_text()[-3000:])
        time.sleep(0.2)
