"""``agentworks-dev``: the whole fleet on one machine (emulator, topology, migrations, six services).

An asyncio supervisor: it starts everything, waits for health, prefixes each service's output with its
name, restarts a service that dies, and stops all of it cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
from agentworks_platform.migrations import upgrade_async
from agentworks_platform.serve import uvicorn_flags
from agentworks_platform.service_auth import LocalTokenSigner, ensure_dev_key
from agentworks_platform.settings import DEV_KEY_PATH
from agentworks_pubsub.topology import load_topology

from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.cli import DEFAULT_STORE, PUSH_EMAIL
from agentworks_localstack.emulator import serve
from agentworks_localstack.fleet import DEV_DIR, EMULATOR_PORT, FLEET, ServiceSpec, base_urls

MAX_RESTARTS = 5
HEALTH_TIMEOUT = 60.0


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class ServiceProcess:
    """One uvicorn child process, restarted with backoff if it exits on its own."""

    def __init__(self, spec: ServiceSpec, env: dict[str, str], offset: int) -> None:
        self.spec = spec
        self.port = spec.port + offset
        self.url = spec.url(offset)
        peers = {f"{spec.env_prefix}{peer.name.replace('-', '_').upper()}_URL": peer.url(offset) for peer in FLEET}
        self.env = {**env, **peers, f"{spec.env_prefix}PORT": str(self.port)}
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False
        self.restarts = 0
        self._output: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
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
        self._output = asyncio.create_task(self._relay_output(self.process))

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
            if self.restarts >= MAX_RESTARTS:
                say(f"{self.spec.name} exited with {code} {MAX_RESTARTS} times; giving up on it")
                return
            self.restarts += 1
            say(f"{self.spec.name} exited with {code}; restarting ({self.restarts}/{MAX_RESTARTS})")
            await asyncio.sleep(min(2**self.restarts, 10))
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
    env.setdefault("PUBSUB_EMULATOR_HOST", emulator_host)
    env["PUBSUB_EMULATOR_HOST"] = emulator_host
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


async def run(args: argparse.Namespace) -> int:
    DEV_DIR.mkdir(exist_ok=True)
    key = ensure_dev_key(DEV_KEY_PATH)
    server, emulator = await serve(
        DEFAULT_STORE, "127.0.0.1", EMULATOR_PORT + args.port_offset, LocalTokenSigner(key, PUSH_EMAIL)
    )
    emulator_host = f"127.0.0.1:{emulator.port}"
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator_host
    topology = load_topology()
    await asyncio.to_thread(bootstrap, topology, topology.project, base_urls(args.port_offset), PUSH_EMAIL)
    for spec in FLEET:
        await upgrade_async(spec.migrations, spec.database_url())
    processes = [ServiceProcess(spec, child_env(emulator_host), args.port_offset) for spec in FLEET]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(*(p.start() for p in processes))
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(wait_healthy(p, client) for p in processes))
        print_summary(processes, emulator_host)
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


def print_summary(processes: list[ServiceProcess], emulator_host: str) -> None:
    say("")
    say("AgentWorks is running (Ctrl-C stops everything):")
    for service in processes:
        say(f"  {service.spec.name:<16} {service.url}   health {service.url}/readyz   docs {service.url}/docs")
    say(f"  Pub/Sub emulator {emulator_host}   (agentworks-pubsub subscriptions | dead-letters | replay)")
    say(f"  data             {Path(DEV_DIR).resolve()}")
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
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (RuntimeError, OSError) as exc:
        sys.stderr.write(f"agentworks-dev: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
