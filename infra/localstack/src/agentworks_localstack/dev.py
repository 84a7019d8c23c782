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
from agentworks_localstack.fleet import (
    EMULATOR_PORT,
    FLEET,
    MAX_INSTANCES,
    Instances,
    ServiceSpec,
    base_urls,
    count_of,
    fleet_data_dir,
    instance_url,
    signing_key_path,
)
from agentworks_localstack.front import RoundRobinFront

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
        instance: int = 0,
        instances: Instances | None = None,
    ) -> None:
        self.spec = spec
        self.port = spec.port_of(offset, instance, instances)
        self.url = instance_url(spec, offset, instance, instances)
        self.name = spec.name if count_of(spec, instances) == 1 else f"{spec.name}#{instance + 1}"
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
        label = self.name.ljust(15)
        async for line in process.stdout:
            say(f"{label}| {line.decode(errors='replace').rstrip()}")

    async def watch(self) -> None:
        while self.process is not None:
            code = await self.process.wait()
            if self._stopped():
                return
            if not self.restarts.exited(self._clock()):
                say(f"{self.name} exited with {code} {self.restarts.limit} times in a row; giving up on it")
                return
            say(f"{self.name} exited with {code}; restarting ({self.restarts.count}/{self.restarts.limit})")
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


async def wait_healthy(service: ServiceProcess, client: httpx.AsyncClient, seconds: float = HEALTH_TIMEOUT) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.process is not None and service.process.returncode is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode} while starting")
        try:
            if (await client.get(f"{service.url}/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{service.name} did not become ready on {service.url} within {seconds:.0f}s")


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
        return await run_fleet(args.port_offset, data_dir, args.instances, args.health_timeout)


async def run_fleet(
    offset: int, data_dir: Path, instances: Instances | None = None, health_seconds: float = HEALTH_TIMEOUT
) -> int:
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
    processes = [
        ServiceProcess(
            spec,
            spec.env(offset, data_dir, child_env(emulator_host), i, instances),
            offset,
            instance=i,
            instances=instances,
        )
        for spec in FLEET
        for i in range(count_of(spec, instances))
    ]
    fronts = [
        RoundRobinFront("127.0.0.1", spec.port + offset, [spec.port_of(offset, i, instances) for i in range(count)])
        for spec in FLEET
        if (count := count_of(spec, instances)) > 1
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(*(front.start() for front in fronts))
        await asyncio.gather(*(p.start() for p in processes))
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(wait_healthy(p, client, health_seconds) for p in processes))
        print_summary(processes, fronts, emulator_host, data_dir)
        watchers = [asyncio.create_task(p.watch()) for p in processes]
        await stop.wait()
        for watcher in watchers:
            watcher.cancel()
    finally:
        say("stopping the fleet…")
        await asyncio.gather(*(p.stop() for p in processes))
        await asyncio.gather(*(front.stop() for front in fronts))
        await emulator.stop()
        await server.stop(grace=1)
    say("stopped")
    return 0


def print_summary(
    processes: list[ServiceProcess], fronts: list[RoundRobinFront], emulator_host: str, data_dir: Path
) -> None:
    say("")
    say("AgentWorks is running (Ctrl-C stops everything):")
    for service in processes:
        say(f"  {service.name:<16} {service.url}   health {service.url}/readyz   docs {service.url}/docs")
    for front in fronts:
        say(f"  round-robin front http://{front.host}:{front.port}")
    say(f"  Pub/Sub emulator {emulator_host}   (agentworks-pubsub subscriptions | dead-letters | replay)")
    say(f"  data             {data_dir.resolve()}")
    say("")


def parse_instances(text: str) -> dict[str, int]:
    """``name=count,…`` into counts per service, each a service of the fleet and from 1 to ``MAX_INSTANCES``."""
    names = {spec.name for spec in FLEET}
    counts: dict[str, int] = {}
    for part in filter(None, text.split(",")):
        name, _, count = part.partition("=")
        if name not in names or not count.isdigit() or not 1 <= int(count) <= MAX_INSTANCES:
            raise argparse.ArgumentTypeError(
                f"{part!r}: expected <service>=<1-{MAX_INSTANCES}> with a service among {', '.join(sorted(names))}"
            )
        counts[name] = int(count)
    return counts


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
    parser.add_argument(
        "--instances",
        type=parse_instances,
        default={},
        help="run several instances of some services behind a round-robin front on the service's port, e.g. "
        "gateway=2,log-stream=2 (instance N listens on the service's port + 10 N)",
    )
    parser.add_argument(
        "--health-timeout",
        type=float,
        default=HEALTH_TIMEOUT,
        help=f"seconds each service has to answer /readyz 200 at start (default {HEALTH_TIMEOUT:.0f})",
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (RuntimeError, OSError) as exc:
        sys.stderr.write(f"agentworks-dev: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
