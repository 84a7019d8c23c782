"""Choosing the sandbox from settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agentworks_sandbox.bubblewrap import BubblewrapSandbox
from agentworks_sandbox.port import Command, CommandResult, Sandbox, SandboxLimits, SandboxUnavailable

SandboxKind = Literal["bubblewrap", "cloud-run-job", "none"]


class NoSandbox:
    """No sandbox: every command is refused with the reason."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def available(self) -> str | None:
        return self._reason

    async def run(self, command: Command, workdir: Path, limits: SandboxLimits | None = None) -> CommandResult:  # noqa: ARG002
        raise SandboxUnavailable(self._reason)


def sandbox_from_settings(kind: SandboxKind, cloud_run_job: Callable[[], Sandbox] | None = None) -> Sandbox:
    """``bubblewrap`` on this machine, ``cloud-run-job`` from the given builder, ``none`` for no commands at all.

    An unavailable bubblewrap is still returned: its ``available()`` says why, and it runs nothing.
    """
    if kind == "none":
        return NoSandbox("commands are disabled: no sandbox is configured (AW_ORCHESTRATOR_SANDBOX=none)")
    if kind == "cloud-run-job":
        if cloud_run_job is None:
            raise ValueError("the cloud-run-job sandbox needs its job settings")
        return cloud_run_job()
    return BubblewrapSandbox()
