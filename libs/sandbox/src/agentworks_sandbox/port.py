"""The sandbox port: what a command may use, and what comes back from running it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Command = Sequence[str] | str
"""An argv list, or a shell string run by ``/bin/sh -c``."""

WORKSPACE = "/workspace"
"""Where the working copy appears inside every sandbox; the command's working directory."""

GIT_DIR = ".git"
"""The working copy's repository metadata: read-only to commands, never taken back from a remote sandbox."""

COMMAND_ENVIRONMENT = {"LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
"""Set for every command besides its PATH and HOME. Python's bytecode cache takes a source as unchanged while its
size and its mtime in whole seconds are: a tool that rewrites a file within the second of the last command (a
one-character fix) would otherwise have the next command run the old code."""


@dataclass(frozen=True)
class SandboxLimits:
    """Ceilings on one command; the defaults suit a project's test suite or build."""

    timeout_seconds: float = 300.0
    memory_bytes: int = 2 << 30  # address space: a runtime that reserves more than this needs a larger setting
    processes: int = 256  # processes and threads of the sandbox's user
    cpu_seconds: int = 600
    file_size_bytes: int = 512 << 20
    open_files: int = 1024
    tmp_bytes: int = 256 << 20  # the private /tmp (and /dev/shm), held in memory
    output_bytes: int = 64 << 10  # the tail of the merged output that is kept

    def __post_init__(self) -> None:
        for name in ("memory_bytes", "processes", "cpu_seconds", "file_size_bytes", "open_files", "tmp_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if self.output_bytes < 1:
            raise ValueError("output_bytes must be positive")


@dataclass(frozen=True)
class CommandResult:
    """How a command ended: its exit code, the tail of its stdout and stderr merged in order, and why it was
    stopped when a limit stopped it (``timeout``, ``cpu_time``, ``file_size``, ``killed``).

    ``signal`` names the signal that ended it (``SIGSEGV``) when one did, the exit code being 128 + its number as a
    shell shows it. ``launcher_died`` says the signal ended the sandbox's launcher (bwrap) rather than the command,
    as when it died before it could start the command: the command's own outcome is then unknown."""

    exit_code: int
    output_tail: str
    truncated: bool
    timed_out: bool
    killed_reason: str | None
    duration_ms: int
    signal: str | None = None
    launcher_died: bool = False


class SandboxUnavailable(RuntimeError):
    """No sandbox can run commands here; the message says why. Nothing is ever run without one."""


class Sandbox(Protocol):
    """Runs one command with the working copy as its only writable place and no network."""

    def available(self) -> str | None:
        """None when commands can run, else the reason they cannot."""
        ...

    async def run(self, command: Command, workdir: Path, limits: SandboxLimits = ...) -> CommandResult: ...


def argv_of(command: Command) -> list[str]:
    """The argv a command runs as: a string goes to ``/bin/sh -c``."""
    if isinstance(command, str):
        if not command.strip():
            raise ValueError("the command is empty")
        return ["/bin/sh", "-c", command]
    argv = list(command)
    if not argv or not argv[0]:
        raise ValueError("the command is empty")
    if any("\0" in arg for arg in argv):
        raise ValueError("a command argument holds NUL")
    return argv


def checked_workdir(workdir: Path) -> Path:
    """The working copy's real path; it must be a directory, not a link to one."""
    if workdir.is_symlink() or not workdir.is_dir():
        raise ValueError(f"the working copy must be an existing directory, not a link: {workdir}")
    return workdir.resolve()
