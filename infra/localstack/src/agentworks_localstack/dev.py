"""``agentworks-dev``: the whole fleet on one machine (emulator, topology, migrations, six services).

An asyncio supervisor: it starts everything, waits for health, prefixes each service's output with its
name, restarts a service that dies, and stops all of it cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from agentworks_platform.migrations import upgrade_async
from agentworks_platform.serve import uvicorn_flags
from agentworks_platform.service_auth import LocalTokenSigner, ensure_dev_key
from agentworks_pubsub.topology import load_topology

from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.cli import PUSH_EMAIL
from agentworks_localstack.emulator import serve
from agentworks_localstack.fleet import EMULATOR_PORT, FLEET, ServiceSpec, base_urls, fleet_data_dir, signing_key_path

MAX_RESTARTS = 5
HEALTHY_PERIOD = 60.0
HEALTH_TIMEOUT = 60.0
LOCK_FILE = "fleet.lock"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class DataDirInUse(RuntimeError):
    """Another running fleet holds the data directory."""


@contextlib.contextmanager
def hold_data_dir(data_dir: Path) -> Iterator[None]:
    """Hold ``data_dir`` for one fleet: a second supervisor would share its databases and Pub/Sub store and
    repoint its push subscriptions. The kernel drops the lock when this process ends, however it ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / LOCK_FILE).open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise DataDirInUse(
                f"{data_dir} is held by a running fleet (supervisor pid {holder}); stop it, or start this one "
                "with another --port-offset or --data-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield


@dataclass(slots=True)
class RestartCounter:
    """A service's restarts in a row: one that stayed up for ``healthy_after`` seconds starts a new count, so a
    fleet that runs for days does not give up on a service after its fifth unrelated crash."""

    limit: int = MAX_RESTARTS
    healthy_after: float = HEALTHY_PERIOD
    count: int = 0
    started_at: float = 0.0

    def started(self, now: float) -> None:
        self.started_at = now

    def exited(self, now: float) -> bool:
        """Count an exit at ``now``; False when the service has used up its restarts."""
        if now - self.started_at >= self.healthy_after:
            self.count = 0
        if self.count >= self.limit:
            return False
        self.count += 1
        return True

    @property
    def backoff(self) -> float:
        return float(min(2**self.count, 10))


class ServiceProcess:
    """One uvicorn child process, restarted with backoff if it exits on its own."""

    def __init__(
        self,
        spec: ServiceSpec,
        env: dict[str, str],
        offset: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spec = spec
        self.port = spec.port + offset
        self.url = spec.url(offset)
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False
        self.restarts = RestartCounter()
        self._clock = clock
        self._sleep = sleep
        self._output: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await self._spawn()
        self.restarts.started(self._clock())

    async def _spawn(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            f"{self.spec.package}.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *uvicorn_flags(),
            "--timeout-graceful-shutdown",
            "5",
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._output = asyncio.create_task(self._relay_output(process))
        return process

    async def _relay_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        label = self.spec.name.ljust(15)
        async for line in process.stdout:
            say(f"{label}| {line.decode(errors='replace').rstrip()}")

    async def watch(self) -> None:
        while self.process is not None:
            code = await self.process.wait()
            if self._stopped():
                return
            if not self.restarts.exited(self._clock()):
                say(f"{self.spec.name} exited with {code} {self.restarts.limit} times in a row; giving up on it")
                return
            say(f"{self.spec.name} exited with {code}; restarting ({self.restarts.count}/{self.restarts.limit})")
            await self._sleep(self.restarts.backoff)
            await self.start()

    def _stopped(self) -> bool:
        return self.stopping

    async def stop(self) -> None:
        self.stopping = True
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def wait_healthy(service: ServiceProcess, client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if service.process is not None and service.process.returncode is not None:
            raise RuntimeError(f"{service.spec.name} exited with {service.process.returncode} while starting")
        try:
            if (await client.get(f"{service.url}/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{service.spec.name} did not become ready on {service.url} within {HEALTH_TIMEOUT:.0f}s")


def child_env(emulator_host: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PUBSUB_EMULATOR_HOST"] = emulator_host
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def data_dir_of(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if args.data_dir else fleet_data_dir(args.port_offset)


async def run(args: argparse.Namespace) -> int:
    data_dir = data_dir_of(args)
    with hold_data_dir(data_dir):
        return await run_fleet(args.port_offset, data_dir)


async def run_fleet(offset: int, data_dir: Path) -> int:
    key = ensure_dev_key(signing_key_path(data_dir))
    server, emulator = await serve(
        data_dir / "pubsub.db", "127.0.0.1", EMULATOR_PORT + offset, LocalTokenSigner(key, PUSH_EMAIL)
    )
    emulator_host = f"127.0.0.1:{emulator.port}"
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator_host
    topology = load_topology()
    await asyncio.to_thread(bootstrap, topology, topology.project, base_urls(offset), PUSH_EMAIL)
    for spec in FLEET:
        await upgrade_async(spec.migrations, spec.database_url(data_dir))
    processes = [ServiceProcess(spec, spec.env(offset, data_dir, child_env(emulator_host)), offset) for spec in FLEET]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(*(p.start() for p in processes))
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(wait_healthy(p, client) for p in processes))
        print_summary(processes, emulator_host, data_dir)
        watchers = [asyncio.create_task(p.watch()) for p in processes]
        await stop.wait()
        for watcher in watchers:
            watcher.cancel()
    finally:
        say("stopping the fleet…")
        await asyncio.gather(*(p.stop() for p in processes))
        await emulator.stop()
        await server.stop(grace=1)
    say("stopped")
    return 0


def print_summary(processes: list[ServiceProcess], emulator_host: str, data_dir: Path) -> None:
    say("")
    say("AgentWorks is running (Ctrl-C stops everything):")
    for service in processes:
        say(f"  {service.spec.name:<16} {service.url}   health {service.url}/readyz   docs {service.url}/docs")
    say(f"  Pub/Sub emulator {emulator_host}   (agentworks-pubsub subscriptions | dead-letters | replay)")
    say(f"  data             {data_dir.resolve()}")
    say("")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agentworks-dev", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--port-offset",
        type=int,
        default=0,
        help="shift every port (gateway 8080, services 8081-8085, emulator 8681) by N",
    )
    parser.add_argument(
        "--data-dir",
        help="databases, Pub/Sub store, signing key and blobs (default: .dev, or .dev/offset-N with --port-offset N)",
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (RuntimeError, OSError) as exc:
        sys.stderr.write(f"agentworks-dev: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
