"""The ``git`` CLI as typed asyncio subprocesses: always an argv list, never a shell, never a prompt or user config."""

from __future__ import annotations

import asyncio
import os
import signal
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
# Nor enter a repository nested in a working copy (a submodule's dirtiness check runs ``git status`` inside it, with
# its own configuration: its filters and its fsmonitor would run on the host). ``git add`` of a gitlink the index
# already tracks still looks inside whatever this says, which is why working copies never keep a nested ``.git``.
NO_HOOKS = (
    "-c",
    f"core.hooksPath={os.devnull}",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "diff.ignoreSubmodules=all",
    "-c",
    "status.submoduleSummary=false",
    "-c",
    "submodule.recurse=false",
    "-c",
    "fetch.recurseSubmodules=false",
    "-c",
    "push.recurseSubmodules=no",
)


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
    """``-c`` options that let git reach ``remote``: its settings, and its authorization header for its URL only
    (a redirect or another URL never receives it)."""
    if remote is None:
        return []
    options = [item for key, value in remote.config for item in ("-c", f"{key}={value}")]
    if remote.auth_header is not None:
        options += ["-c", f"http.{remote.url}.extraHeader={remote.auth_header}"]
    return options


def remote_env(remote: GitRemote | None) -> dict[str, str]:
    """The environment ``remote`` asks for: the only protocols git may use to reach it."""
    if remote is None or remote.protocols is None:
        return {}
    return {"GIT_ALLOW_PROTOCOL": remote.protocols}


async def run_git(
    *args: str,
    cwd: Path | None = None,
    remote: GitRemote | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> GitResult:
    """Run ``git <args>`` in ``cwd``; raises :class:`GitError` on a non-zero exit unless ``check`` is False. A
    command on a ``remote`` with a time limit is killed at it (exit code -1)."""
    argv = [*NO_HOOKS, *remote_options(remote), *args]
    process = await asyncio.create_subprocess_exec(
        "git",
        *argv,
        cwd=cwd,
        env=git_env({**remote_env(remote), **(env or {})}),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # git runs its transport as a child (git-remote-https) that holds the pipes too: a time limit kills both.
        start_new_session=bool(remote and remote.timeout_seconds),
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), remote.timeout_seconds if remote else None)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await process.communicate()  # reads the pipes to their end, which closes them
        seconds = remote.timeout_seconds if remote else None
        stdout, stderr = b"", f"fatal: the remote did not answer within {seconds:g} seconds\n".encode()
        result = GitResult(-1, stdout, stderr)
        if check:
            raise GitError(list(args), -1, stderr.decode()) from None
        return result
    result = GitResult(process.returncode or 0, stdout, stderr)
    if check and result.exit_code != 0:
        # The header carries a credential: name the command by its arguments only.
        raise GitError(list(args), result.exit_code, stderr.decode("utf-8", errors="replace"))
    return result


async def git_text(*args: str, cwd: Path | None = None, remote: GitRemote | None = None) -> str:
    """The stripped standard output of a git command that must succeed."""
    return (await run_git(*args, cwd=cwd, remote=remote)).text.strip()
