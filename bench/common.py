"""Helpers every benchmark shares: percentiles, result rows, and services started as real processes."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from agentworks_platform.principal import Principal
from agentworks_platform.serve import uvicorn_flags
from agentworks_platform.service_auth import LocalTokenSigner, ensure_dev_key
from agentworks_platform.settings import dev_service_account

PUSHER = "pubsub-invoker@agentworks-local.iam.gserviceaccount.com"
READY_SECONDS = 180
"""How long a service may take to answer ``/readyz``: on a loaded machine, importing one alone can take a minute."""


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def row(name: str, value: float, unit: str, budget: str, passed: bool | None = None) -> dict[str, Any]:
    """One result line; ``passed`` None means informational (no budget to meet)."""
    return {"name": name, "value": value, "unit": unit, "budget": budget, "passed": passed}


def seed_project(core_url: str, key: bytes, owner: Principal, *, card: bool = False) -> dict[str, uuid.UUID]:
    """A workspace owned by ``owner`` with one project (and a card on its board), made through core's API
    as the gateway would; returns their ids under ``workspace``, ``project`` and ``card``."""
    token = LocalTokenSigner(key, dev_service_account("gateway")).sign(core_url)
    headers = {"authorization": f"Bearer {token}", **owner.headers()}
    with httpx.Client(base_url=core_url, headers=headers, timeout=30) as client:
        workspace = client.post("/api/workspaces", json={"name": "Bench"}).raise_for_status().json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Bench"})
        ids = {"workspace": workspace["id"], "project": project.raise_for_status().json()["id"]}
        if card:
            made = client.post(f"/api/projects/{ids['project']}/cards", json={"title": "Watched"})
            ids["card"] = made.raise_for_status().json()["id"]
    return {name: uuid.UUID(value) for name, value in ids.items()}


def service_env(prefix: str, port: int, database_url: str, key_file: Path) -> dict[str, str]:
    """The environment a service needs to run as a bench process (``prefix`` as in ``AW_<PREFIX>_PORT``)."""
    return {
        f"AW_{prefix}_ENVIRONMENT": "test",
        f"AW_{prefix}_PORT": str(port),
        f"AW_{prefix}_DATABASE_URL": database_url,
        f"AW_{prefix}_DEV_SIGNING_KEY_FILE": str(key_file),
        f"AW_{prefix}_LOG_LEVEL": "WARNING",
    }


def scratch(prefix: str) -> tuple[Path, Path, bytes]:
    """A fresh working directory with the local signing key every process of the bench shares."""
    work = Path(tempfile.mkdtemp(prefix=f"aw-bench-{prefix}-"))
    key_file = work / "key.pem"
    return work, key_file, ensure_dev_key(key_file)


@contextlib.contextmanager
def service_process(
    factory: str, port: int, env: dict[str, str], workers: int = 1, log: Path | None = None, ready: str = "/readyz"
) -> Iterator[str]:
    """A service under uvicorn in its own process(es), as it runs in production; yields its URL."""
    command = [
        sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", *uvicorn_flags(),
    ]  # fmt: skip
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{factory} exited with {process.returncode} (see {log})")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}{ready}", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{factory} did not become ready on {url}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def emulator_process(work: Path, key_file: Path) -> Iterator[str]:
    """The local Pub/Sub emulator in its own process, with the topology's topics (no subscriptions)."""
    from agentworks_localstack.bootstrap import bootstrap
    from agentworks_localstack.threads import free_port
    from agentworks_pubsub import load_topology

    port = free_port()
    command = [
        sys.executable, "-m", "agentworks_localstack.cli", "--store", str(work / "pubsub.db"), "serve",
        "--port", str(port), "--key", str(key_file),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    host = f"127.0.0.1:{port}"
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = host
    try:
        topology = load_topology()
        deadline = time.monotonic() + 30
        while True:
            try:
                bootstrap(topology.model_copy(update={"subscriptions": ()}), topology.project, {}, PUSHER)
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield host
    finally:
        process.terminate()
        process.wait(20)
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous
