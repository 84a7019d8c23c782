"""The ``git`` CLI as typed asyncio subprocesses: always an argv list, never a shell, never a prompt or user config."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentworks_repos.remote import GitRemote

# The fleet's git never reads the machine's or the user's configuration and never waits on a terminal.
ISOLATED_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "LC_ALL": "C",
}

# Never run a hook or a file-system monitor, whatever a repository's own configuration says: a working copy's files
# are written by agents and sandboxed commands, and git would otherwise run programs they named, on the host.
NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}", "-c", "core.fsmonitor=false")


class GitError(Exception):
    """A git command that exited non-zero; ``stderr`` is git's own explanation."""

    def __init__(self, argv: Sequence[str], exit_code: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(f"git {' '.join(argv[:2])} exited {exit_code}: {stderr.strip()[:500]}")


@dataclass(frozen=True, slots=True)
class GitResult:
    """What one git command answered."""

    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment of a git command: the caller's without any ``GIT_*`` variable (a hook or an outer
    repository must not redirect it), plus the isolation above and ``extra``."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    return {**base, **ISOLATED_ENV, **(extra or {})}


def remote_options(remote: GitRemote | None) -> list[str]:
    """``-c`` options that let git reach ``remote`` (its authorization header, when it has one)."""
    if remote is None or remote.auth_header is None:
        return []
    return ["-c", f"http.extraHeader={remote.auth_header}"]


async def run_git(
    *args: str,
    cwd: Path | None = None,
    remote: GitRemote | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> GitResult:
    """Run ``git <args>`` in ``cwd``; raises :class:`GitError` on a non-zero exit unless ``check`` is False."""
    argv = [*NO_HOOKS, *remote_options(remote), *args]
    process = await asyncio.create_subprocess_exec(
        "git",
        *argv,
        cwd=cwd,
        env=git_env(env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate(stdin)
    result = GitResult(process.returncode or 0, stdout, stderr)
    if check and result.exit_code != 0:
        # The header carries a credential: name the command by its arguments only.
        raise GitError(list(args), result.exit_code, stderr.decode("utf-8", errors="replace"))
    return result


async def git_text(*args: str, cwd: Path | None = None, remote: GitRemote | None = None) -> str:
    """The stripped standard output of a git command that must succeed."""
    return (await run_git(*args, cwd=cwd, remote=remote)).text.strip()
