"""The sandbox agents' commands run in, as the orchestrator's settings choose it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.state import OrchestratorState, sandbox_from_orchestrator_settings
from agentworks_platform.app import state_of
from agentworks_sandbox import BubblewrapSandbox, CloudRunJobSandbox, NoSandbox
from pydantic import ValidationError


async def test_the_default_is_bubblewrap_and_none_disables_commands_with_the_reason() -> None:
    async with AsyncExitStack() as stack:
        assert isinstance(sandbox_from_orchestrator_settings(OrchestratorSettings(), stack), BubblewrapSandbox)
        disabled = sandbox_from_orchestrator_settings(OrchestratorSettings(sandbox="none"), stack)
    assert isinstance(disabled, NoSandbox)
    assert disabled.available() == "commands are disabled: no sandbox is configured (AW_ORCHESTRATOR_SANDBOX=none)"


async def test_the_cloud_run_job_is_built_from_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")  # the storage client wants no credentials
    settings = OrchestratorSettings(sandbox="cloud-run-job", sandbox_job="agentworks-sandbox", sandbox_bucket="b")
    async with AsyncExitStack() as stack:
        sandbox = sandbox_from_orchestrator_settings(settings, stack)
        assert isinstance(sandbox, CloudRunJobSandbox)
        assert sandbox.available() is None


def test_the_cloud_run_job_needs_its_name_and_bucket() -> None:
    with pytest.raises(ValidationError, match="sandbox_job and sandbox_bucket"):
        OrchestratorSettings(sandbox="cloud-run-job", sandbox_job="agentworks-sandbox")
    with pytest.raises(ValidationError, match="sandbox"):
        OrchestratorSettings(sandbox="docker")


async def test_the_running_orchestrator_holds_the_sandbox_its_settings_name(
    make_orchestrator: Callable[..., Any],
) -> None:
    async with AsyncExitStack() as exits:
        orchestrator = await make_orchestrator(exits, sandbox="none")
        state = state_of(orchestrator.app.state.ctx, OrchestratorState)
        assert isinstance(state.sandbox, NoSandbox)
