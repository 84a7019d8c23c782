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

    def __init__(self, spec: ServiceSpec, env: dict[str, str]) -> None:
        self.spec = spec
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False
        self.restarts = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", f"{self.spec.package}.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.spec.port), "--no-access-log",
            "--timeout-graceful-shutdown", "5",
            env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        asyncio.create_task(self._relay_output(self.process))

    async def _relay_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        label = self.spec.name.ljust(15)
        async for line in process.stdout:
            say(f"{label}| {line.decode(errors='replace').rstrip()}")

    async def watch(self) -> None:
        while not self.stopping and self.process is not None:
            code = await self.process.wait()
            if self.stopping:
                return
            if self.restarts >= MAX_RESTARTS:
                say(f"{self.spec.name} exited with {code} {MAX_RESTARTS} times; giving up on it")
                return
            self.restarts += 1
            say(f"{self.spec.name} exited with {code}; restarting ({self.restarts}/{MAX_RESTARTS})")
            await asyncio.sleep(min(2**self.restarts, 10))
            await self.start()

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


async def wait_healthy(spec: ServiceSpec, client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if (await client.get(f"{spec.url()}/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{spec.name} did not become ready on {spec.url()} within {HEALTH_TIMEOUT:.0f}s")


def child_env(emulator_host: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PUBSUB_EMULATOR_HOST", emulator_host)
    env["PUBSUB_EMULATOR_HOST"] = emulator_host
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


async def run(args: argparse.Namespace) -> int:
    DEV_DIR.mkdir(exist_ok=True)
    key = ensure_dev_key(DEV_KEY_PATH)
    server, emulator = await serve(DEFAULT_STORE, "127.0.0.1", args.emulator_port,
                                   LocalTokenSigner(key, PUSH_EMAIL))
    emulator_host = f"127.0.0.1:{emulator.port}"
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator_host
    topology = load_topology()
    await asyncio.to_thread(bootstrap, topology, topology.project, base_urls(), PUSH_EMAIL)
    for spec in FLEET:
        await upgrade_async(spec.migrations, spec.database_url())
    processes = [ServiceProcess(spec, child_env(emulator_host)) for spec in FLEET]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(*(p.start() for p in processes))
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(wait_healthy(p.spec, client) for p in processes))
        print_summary(emulator_host)
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


def print_summary(emulator_host: str) -> None:
    say("")
    say("AgentWorks is running (Ctrl-C stops everything):")
    say("  web app and API  http://localhost:8080   (API docs at /docs)")
    for spec in FLEET:
        say(f"  {spec.name:<16} {spec.url()}   health {spec.url()}/readyz")
    say(f"  Pub/Sub emulator {emulator_host}   (agentworks-pubsub subscriptions | dead-letters | replay)")
    say(f"  data             {Path(DEV_DIR).resolve()}")
    say("")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentworks-dev", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulator-port", type=int, default=EMULATOR_PORT)
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (RuntimeError, OSError) as exc:
        sys.stderr.write(f"agentworks-dev: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
