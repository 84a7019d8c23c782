"""Provider-router overhead: the same chat request sent straight to a mock upstream with the openai SDK,
through the router, and (when it can be installed) through LiteLLM's proxy, side by side in one run.

Added latency is each path's percentile minus the direct path's, at concurrency 1 with the three paths
interleaved so machine noise hits them alike; throughput is requests/second at concurrency 64.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
from agentworks_localstack.threads import free_port
from agentworks_platform.migrations import upgrade
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_provider_router.models import MIGRATIONS

from bench.common import emulator_process, percentile, row, scratch, service_env, service_process

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Plan the checkout."}]
SEQUENTIAL = 1000  # per path and kind: a p99 from the ten slowest, not from one or two
PARALLEL = 600
CONCURRENCY = 64
ADDED_P99_BUDGET = 10.0
REPO = Path(__file__).resolve().parents[1]
LITELLM_ENV = REPO / "bench" / ".litellm"
LITELLM_KEY = "sk-" + secrets.token_hex(32)  # the proxy refuses to start without a master key

Call = Callable[[], Awaitable[Any]]


def _clients(urls: dict[str, str], token: str) -> dict[str, openai.AsyncOpenAI]:
    who = {"x-aw-workspace-id": str(uuid.uuid4()), "x-aw-project-id": str(uuid.uuid4()), "x-aw-agent": "prd"}
    clients = {
        "direct": openai.AsyncOpenAI(api_key="sk-bench", base_url=f"{urls['mock']}/v1", max_retries=0),
        "router": openai.AsyncOpenAI(
            api_key=token, base_url=f"{urls['router']}/v1", default_headers=who, max_retries=0
        ),
    }
    if "litellm" in urls:
        clients["litellm"] = openai.AsyncOpenAI(api_key=LITELLM_KEY, base_url=f"{urls['litellm']}/v1", max_retries=0)
    return clients


def _call(client: openai.AsyncOpenAI, stream: bool) -> Call:
    async def once() -> None:
        if not stream:
            await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=64)  # type: ignore[arg-type]
            return
        chunks = await client.chat.completions.create(  # type: ignore[call-overload]
            model=MODEL, messages=MESSAGES, max_tokens=64, stream=True, stream_options={"include_usage": True}
        )
        async for _ in chunks:
            pass

    return once


async def _latencies(calls: dict[str, Call]) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():  # warm connections and caches
        for _ in range(20):
            await call()
    for _ in range(SEQUENTIAL):
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            results[name].append((time.perf_counter() - started) * 1000)
    return results


async def _throughput(call: Call) -> float:
    remaining = PARALLEL

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            try:
                await call()
            except openai.APIConnectionError:
                # A kept-alive connection the server closed just as it was reused: send it again once.
                await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return PARALLEL / (time.perf_counter() - started)


async def _measure(urls: dict[str, str], token: str) -> list[dict[str, Any]]:
    clients = _clients(urls, token)
    rows: list[dict[str, Any]] = []
    for stream in (False, True):
        kind = "streaming" if stream else "non-streaming"
        calls = {name: _call(client, stream) for name, client in clients.items()}
        latencies = await _latencies(calls)
        for q in (50, 99):  # the price of one HTTP hop with the SDK: what any proxy adds at the least
            rows.append(row(f"direct call, {kind}, p{q} (c=1)", percentile(latencies["direct"], q), "ms", "yardstick"))
        for name in (n for n in calls if n != "direct"):
            for q in (50, 99):
                added = percentile(latencies[name], q) - percentile(latencies["direct"], q)
                budget = f"p99 ≤ {ADDED_P99_BUDGET:g} ms" if name == "router" else "for comparison"
                passed = added <= ADDED_P99_BUDGET if (name == "router" and q == 99) else None
                rows.append(row(f"{name} added latency, {kind}, p{q} (c=1)", added, "ms", budget, passed))
        for name, call in calls.items():
            rate = await _throughput(call)
            rows.append(row(f"{name} throughput, {kind} (c={CONCURRENCY})", rate, "req/s", "informational"))
    for client in clients.values():
        await client.close()
    return rows


def _uv() -> str | None:
    return shutil.which("uv") or next((str(p) for p in [REPO / ".tools" / "bin" / "uv"] if p.exists()), None)


def _install_litellm() -> Path | None:
    """LiteLLM's proxy in its own environment under bench/.litellm (kept between runs); None if impossible."""
    binary = LITELLM_ENV / "bin" / "litellm"
    if binary.exists():
        return binary
    uv = _uv()
    if uv is None:
        return None
    try:
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(LITELLM_ENV)], check=True, timeout=120)
        python = str(LITELLM_ENV / "bin" / "python")
        subprocess.run([uv, "pip", "install", "-q", "--python", python, "litellm[proxy]"], check=True, timeout=600)
    except (subprocess.SubprocessError, OSError):
        shutil.rmtree(LITELLM_ENV, ignore_errors=True)
        return None
    return binary if binary.exists() else None


@contextlib.contextmanager
def _litellm(work: Path, mock_url: str) -> Iterator[str | None]:
    binary = _install_litellm()
    if binary is None:
        yield None
        return
    config = work / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {mock_url}/v1\n"
        "      api_key: sk-bench\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n"
    )
    port = free_port()
    command = [str(binary), "--config", str(config), "--port", str(port), "--host", "127.0.0.1"]
    log = (work / "litellm.log").open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "LITELLM_LOG": "ERROR"}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                    yield url
                    return
            time.sleep(0.5)
        yield None
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(20)


def run() -> list[dict[str, Any]]:
    logging.disable(logging.INFO)
    work, key_file, key = scratch("router")
    database_url = f"sqlite+aiosqlite:///{work}/router.db"
    upgrade(MIGRATIONS, database_url)
    mock_port, router_port = free_port(), free_port()
    with (
        emulator_process(work, key_file) as emulator,
        service_process("bench.mock_openai:create_app", mock_port, {}, ready="/v1/models") as mock_url,
    ):
        env = {
            **service_env("PROVIDER_ROUTER", router_port, database_url, key_file),
            "AW_PROVIDER_ROUTER_OPENAI_BASE_URL": f"{mock_url}/v1",
            "OPENAI_API_KEY": "sk-bench",
            "PUBSUB_EMULATOR_HOST": emulator,
        }
        factory = "agentworks_provider_router.app:create_app"
        with (
            service_process(factory, router_port, env, log=work / "router.log") as router_url,
            _litellm(work, mock_url) as litellm_url,
        ):
            token = LocalTokenSigner(key, dev_service_account("orchestrator")).sign(router_url)
            urls = {"mock": mock_url, "router": router_url} | ({"litellm": litellm_url} if litellm_url else {})
            rows = asyncio.run(_measure(urls, token))
    if litellm_url is None:
        rows.append(row("litellm proxy", 0.0, "", "not installable here; compared when it is"))
    return rows
