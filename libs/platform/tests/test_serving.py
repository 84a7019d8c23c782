from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from agentworks_platform.app import create_service_app
from agentworks_platform.heap import YOUNG_GENERATION
from agentworks_platform.serve import server_config, uvicorn_flags
from agentworks_platform.settings import ServiceSettings


async def test_a_running_service_exempts_its_startup_heap_and_collects_young_objects_less_often(
    tmp_path: Path,
) -> None:
    settings = ServiceSettings(
        service_name="demo",
        environment="test",
        dev_signing_key_file=tmp_path / "k.pem",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/demo.db",
    )
    app = create_service_app(settings, title="demo", description="demo")
    before = gc.get_threshold()
    async with app.router.lifespan_context(app):
        assert gc.get_threshold()[0] == YOUNG_GENERATION
        assert gc.get_freeze_count() > 0  # what startup built is left out of every later collection
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_containers_and_the_dev_fleet_serve_websockets_uncompressed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8080")
    assert server_config("agentworks_demo").ws_per_message_deflate is False
    flags = uvicorn_flags()
    assert flags[flags.index("--ws-per-message-deflate") + 1] == "false"


_SPAWN_UNDER_THE_SERVICE_LOOP = """
import asyncio, os, sys
from agentworks_platform.serve import server_config
os.register_at_fork(after_in_child=lambda: os.write(1, b"python ran in the child\\n"))
async def spawn() -> int:
    child = await asyncio.create_subprocess_exec("true")
    return await child.wait()
factory = server_config("agentworks_demo").get_loop_factory()
assert factory is not None
with asyncio.Runner(loop_factory=factory) as runner:
    print("exit", runner.run(spawn()))
"""


def test_a_service_spawns_git_and_the_sandbox_without_running_python_in_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvloop forks the whole interpreter for a subprocess (its at-fork hooks run in the child); the services'
    loop spawns with vfork and exec only, so a busy process's threads can never crash a child before it runs."""
    monkeypatch.setenv("PORT", "8080")
    assert server_config("agentworks_demo").loop == "asyncio"
    flags = uvicorn_flags()
    assert flags[flags.index("--loop") + 1] == "asyncio"
    done = subprocess.run(
        [sys.executable, "-c", _SPAWN_UNDER_THE_SERVICE_LOOP], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout) == (0, "exit 0\n"), done.stderr
