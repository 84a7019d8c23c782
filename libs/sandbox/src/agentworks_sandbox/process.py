"""Running one command's process tree to its end or its time limit, keeping the tail of its output."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from agentworks_sandbox.output import OutputTail
from agentworks_sandbox.port import CommandResult, SandboxLimits

_READ_CHUNK = 64 << 10
_SIGNAL_REASONS = {signal.SIGXCPU: "cpu_time", signal.SIGXFSZ: "file_size", signal.SIGKILL: "killed"}


async def run_limited(
    args: Sequence[str],
    limits: SandboxLimits,
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    pass_fds: Sequence[int] = (),
    launcher: bool = False,
) -> CommandResult:
    """Runs ``args`` in a session of its own; at the time limit the whole session is killed. ``launcher``: ``args``
    start a launcher that runs the command as its child and exits with 128 + N when the command dies of signal N
    (bwrap), so a signal ending the process started is the launcher's own death, not the command's."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe: the kernel keeps the two streams in the order written
        pass_fds=pass_fds,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    tail = OutputTail(limits.output_bytes)
    timed_out = False
    try:
        async with asyncio.timeout(limits.timeout_seconds):
            await _drain(process, tail)
            await process.wait()
    except TimeoutError:
        timed_out = True
        await _stop(process, tail)
    except BaseException:
        await asyncio.shield(_stop(process, tail))
        raise
    # Killed at the time limit, it reads as killed whichever of bwrap's processes the kill reached first (bwrap
    # exits 255 when its namespace's init dies before it does).
    exit_code = 128 + signal.SIGKILL if timed_out else exit_code_of(process.returncode)
    return CommandResult(
        exit_code=exit_code,
        output_tail=tail.text(),
        truncated=tail.truncated,
        timed_out=timed_out,
        killed_reason="timeout" if timed_out else killed_reason_of(exit_code),
        duration_ms=int((time.monotonic() - started) * 1000),
        signal=signal_name_of(exit_code),
        # Not when the time limit killed it: that is this function's own doing, and ``timed_out`` says so.
        launcher_died=launcher and not timed_out and (process.returncode is None or process.returncode < 0),
    )


async def _drain(process: asyncio.subprocess.Process, tail: OutputTail) -> None:
    assert process.stdout is not None
    while chunk := await process.stdout.read(_READ_CHUNK):
        tail.feed(chunk)


async def _stop(process: asyncio.subprocess.Process, tail: OutputTail) -> None:
    """Kills the command's session (under bubblewrap: bwrap, whose pid namespace dies with it)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(ProcessLookupError):
        process.kill()
    with suppress(TimeoutError):
        # What the command wrote before it died is still in the pipe. A process that left the session
        # (setsid) could hold the pipe open; this bound keeps such a straggler from holding the result.
        async with asyncio.timeout(30):
            await _drain(process, tail)
    await process.wait()


def exit_code_of(returncode: int | None) -> int:
    """A process killed by a signal reads as a shell shows it, 128 + the signal."""
    if returncode is None:
        return 128 + signal.SIGKILL
    return 128 - returncode if returncode < 0 else returncode


def signal_name_of(exit_code: int) -> str | None:
    """The signal an exit code above 128 stands for (139: ``SIGSEGV``), None for any other exit code."""
    if exit_code <= 128:
        return None
    try:
        return signal.Signals(exit_code - 128).name
    except ValueError:
        return None


def killed_reason_of(exit_code: int) -> str | None:
    """Which limit a signal death stands for: SIGXCPU the CPU time, SIGXFSZ the file size, SIGKILL a kill."""
    if exit_code <= 128:
        return None
    with suppress(ValueError):
        return _SIGNAL_REASONS.get(signal.Signals(exit_code - 128))
    return None
