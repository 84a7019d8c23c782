"""The executor inside the sandbox job's container, where the container (gVisor, no egress) is the sandbox."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from agentworks_sandbox.ownership import hand_over
from agentworks_sandbox.port import (
    COMMAND_ENVIRONMENT,
    Command,
    CommandResult,
    SandboxLimits,
    SandboxUnavailable,
    argv_of,
)
from agentworks_sandbox.process import run_limited

IN_JOB_CONTAINER = "AW_SANDBOX_JOB_CONTAINER"
"""Set by the sandbox image only: the one place commands run without bubblewrap around them."""

_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SANDBOX_UID = "65534"


class JobContainerExecutor:
    """Runs a command with the limits as rlimits and the time limit, as uid 65534 when started as root."""

    def available(self) -> str | None:
        if os.environ.get(IN_JOB_CONTAINER) != "1":
            return "this executor runs only inside the sandbox job's container"
        return None

    async def run(self, command: Command, workdir: Path, limits: SandboxLimits | None = None) -> CommandResult:
        reason = self.available()
        if reason is not None:
            raise SandboxUnavailable(reason)
        limits = limits or SandboxLimits()
        prefix = [
            "prlimit",
            f"--nproc={limits.processes}",
            f"--as={limits.memory_bytes}",
            f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
            f"--fsize={limits.file_size_bytes}",
            f"--nofile={limits.open_files}",
            "--core=0",
            "--",
        ]
        if os.geteuid() == 0:
            await asyncio.to_thread(hand_over, workdir, int(_SANDBOX_UID), int(_SANDBOX_UID))
            prefix += ["setpriv", "--reuid", _SANDBOX_UID, "--regid", _SANDBOX_UID, "--clear-groups"]
            prefix += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        environment = {"PATH": _PATH, "HOME": "/tmp", **COMMAND_ENVIRONMENT}  # noqa: S108 - the container's own /tmp
        return await run_limited([*prefix, *argv_of(command)], limits, env=environment, cwd=workdir)
