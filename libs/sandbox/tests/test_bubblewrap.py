"""The bubblewrap adapter's behaviour apart from containment: the working copy, ownership, errors, availability."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import site
import stat
import subprocess
import tempfile
from pathlib import Path

import agentworks_blobs
import pytest
from agentworks_sandbox import BubblewrapSandbox, SandboxLimits, SandboxUnavailable, argv_of
from agentworks_sandbox import bubblewrap as bubblewrap_module
from agentworks_sandbox.output import OutputTail

_UNAVAILABLE = BubblewrapSandbox().available()
needs_bwrap = pytest.mark.skipif(_UNAVAILABLE is not None, reason=f"no bubblewrap sandbox here: {_UNAVAILABLE}")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy = tmp_path / "working-copy"
    (copy / "src").mkdir(parents=True)
    (copy / "src" / "module.py").write_text("VALUE = 1\n")
    return copy


def _mode(path: Path) -> int:
    return path.stat().st_mode


def _exists(path: Path) -> bool:
    return path.exists()


def _names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def _owners(*paths: Path) -> set[tuple[int, int]]:
    return {(path.stat().st_uid, path.stat().st_gid) for path in paths}


@needs_bwrap
async def test_the_command_runs_in_the_working_copy_and_its_files_stay_the_owners(workdir: Path) -> None:
    before = _owners(workdir)
    script = "pwd; cat src/module.py; mkdir -p build && echo out > build/result.txt && echo edit >> src/module.py"
    result = await BubblewrapSandbox().run(script, workdir)
    assert result.exit_code == 0, result.output_tail
    assert result.output_tail == "/workspace\nVALUE = 1\n"
    made = workdir / "build" / "result.txt"
    assert _owners(workdir, workdir / "build", made, workdir / "src" / "module.py") == before
    assert await asyncio.to_thread(made.read_text) == "out\n"


@needs_bwrap
async def test_a_file_rewritten_within_the_same_second_runs_as_rewritten(workdir: Path) -> None:
    """A one-character fix keeps the file's size; with its mtime in the same whole second as before, a bytecode
    cache left by the previous command would make the next one run the old code."""
    module = workdir / "src" / "module.py"
    sandbox = BubblewrapSandbox()
    command = "cd src && python3 -c 'import module; print(module.VALUE)'"
    first = await sandbox.run(command, workdir)
    assert first.output_tail == "1\n", first.output_tail
    seen = module.stat()
    module.write_text("VALUE = 2\n")
    os.utime(module, ns=(seen.st_atime_ns, seen.st_mtime_ns))
    second = await sandbox.run(command, workdir)
    assert second.output_tail == "2\n", second.output_tail
    assert not (workdir / "src" / "__pycache__").exists()


@needs_bwrap
async def test_the_command_cannot_write_the_working_copys_git(workdir: Path) -> None:
    (workdir / ".git" / "hooks").mkdir(parents=True)
    (workdir / ".git" / "config").write_text("[core]\n")
    owner = _owners(workdir / ".git", workdir / ".git" / "config")
    attempts = [
        "echo '[core] fsmonitor = touch /tmp/x' >> .git/config",
        "echo hook > .git/hooks/pre-push",
        "rm .git/config",
        "mv .git moved",
        "rmdir .git/hooks",
        "mkdir elsewhere && mv elsewhere .git",
    ]
    for attempt in attempts:
        result = await BubblewrapSandbox().run(attempt, workdir)
        assert result.exit_code != 0, attempt
    made = await BubblewrapSandbox().run("echo fine > src/made.txt", workdir)
    assert made.exit_code == 0, made.output_tail
    assert (workdir / ".git" / "config").read_text() == "[core]\n"
    assert list((workdir / ".git" / "hooks").iterdir()) == []
    assert _owners(workdir / ".git", workdir / ".git" / "config") == owner
    assert _names(workdir) == [".git", "elsewhere", "src"]


@needs_bwrap
async def test_set_id_bits_made_in_the_sandbox_do_not_survive(workdir: Path) -> None:
    result = await BubblewrapSandbox().run("cp /bin/true planted && chmod 6755 planted && ls -l planted", workdir)
    assert result.exit_code == 0, result.output_tail
    assert not _mode(workdir / "planted") & (stat.S_ISUID | stat.S_ISGID)


@needs_bwrap
async def test_an_argv_is_not_interpreted_by_a_shell(workdir: Path) -> None:
    result = await BubblewrapSandbox().run(["echo", "$HOME; touch injected"], workdir)
    assert result.output_tail == "$HOME; touch injected\n"
    assert not _exists(workdir / "injected")


@needs_bwrap
async def test_a_missing_program_is_an_exit_code_not_an_error(workdir: Path) -> None:
    result = await BubblewrapSandbox().run(["no-such-program-here"], workdir)
    assert result.exit_code != 0
    assert "no-such-program-here" in result.output_tail


@needs_bwrap
async def test_cancelling_the_run_kills_the_command(workdir: Path) -> None:
    sandbox = BubblewrapSandbox()
    started = workdir / "started"
    os.mkfifo(started)
    command = "echo running > started; exec sleep 3600"
    task = asyncio.create_task(sandbox.run(command, workdir, SandboxLimits(timeout_seconds=600)))
    assert await asyncio.to_thread(started.read_text) == "running\n"  # the command's own signal that it runs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _owners(workdir, started) == {(os.geteuid(), os.getegid())}  # handed back on cancel too


@needs_bwrap
async def test_a_command_killed_by_a_signal_is_told_by_the_signals_name(workdir: Path) -> None:
    result = await BubblewrapSandbox().run("kill -SEGV $$", workdir)
    assert (result.exit_code, result.signal, result.launcher_died) == (139, "SIGSEGV", False)
    assert result.killed_reason is None  # no limit of ours stopped it
    exited = await BubblewrapSandbox().run("exit 3", workdir)
    assert (exited.exit_code, exited.signal, exited.launcher_died) == (3, None, False)


def _launcher_of(workdir: Path) -> int | None:
    """This process's bwrap child bound to ``workdir`` (None until it has started)."""
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            arguments = (entry / "cmdline").read_text().split("\0")
        except (OSError, ValueError):
            continue
        if ppid == os.getpid() and Path(arguments[0]).name == "bwrap" and str(workdir.resolve()) in arguments:
            return int(entry.name)
    return None


@needs_bwrap
async def test_a_launcher_killed_under_its_command_is_told_apart_from_the_command(workdir: Path) -> None:
    sandbox = BubblewrapSandbox()
    started = workdir / "started"
    os.mkfifo(started)
    task = asyncio.create_task(sandbox.run("echo running > started; exec sleep 3600", workdir))
    assert await asyncio.to_thread(started.read_text) == "running\n"
    launcher = _launcher_of(workdir)
    assert launcher is not None
    os.kill(launcher, signal.SIGSEGV)  # as if bwrap itself had crashed
    result = await task  # the command died with it: its pid namespace ends with bwrap
    assert (result.exit_code, result.signal, result.launcher_died, result.timed_out) == (139, "SIGSEGV", True, False)


async def test_a_working_copy_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    sandbox = BubblewrapSandbox()
    if sandbox.available() is not None:
        pytest.skip(f"no bubblewrap sandbox here: {sandbox.available()}")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for bad in (tmp_path / "missing", tmp_path / "link"):
        with pytest.raises(ValueError, match="working copy"):
            await sandbox.run("true", bad)


def test_available_names_a_missing_bubblewrap(tmp_path: Path) -> None:
    sandbox = BubblewrapSandbox(bwrap="no-such-bwrap")
    assert sandbox.available() == "bubblewrap is not installed (Debian package `bubblewrap`)"
    with pytest.raises(SandboxUnavailable, match="bubblewrap is not installed"):
        asyncio.run(sandbox.run("true", tmp_path))


def test_available_names_a_bubblewrap_that_cannot_make_a_sandbox() -> None:
    reason = BubblewrapSandbox(bwrap="false").available()
    assert reason is not None
    assert reason.startswith("bubblewrap cannot create a sandbox here")


def test_limits_and_commands_are_checked() -> None:
    with pytest.raises(ValueError, match="processes"):
        SandboxLimits(processes=0)
    with pytest.raises(ValueError, match="timeout"):
        SandboxLimits(timeout_seconds=0)
    with pytest.raises(ValueError, match="empty"):
        argv_of("  ")
    with pytest.raises(ValueError, match="empty"):
        argv_of([])
    with pytest.raises(ValueError, match="NUL"):
        argv_of(["echo", "a\0b"])
    assert argv_of("make test") == ["/bin/sh", "-c", "make test"]


def test_the_output_tail_keeps_the_last_bytes() -> None:
    tail = OutputTail(8)
    tail.feed(b"0123")
    assert (tail.text(), tail.truncated) == ("0123", False)
    tail.feed(b"456789ab\0")
    assert (tail.text(), tail.truncated) == ("56789ab\ufffd", True)
    cut = OutputTail(3)
    cut.feed("é".encode() + b"xy")  # the first byte of é is dropped
    assert cut.text() == "\ufffdxy"


_AS_UNPRIVILEGED_FLEET = """
import asyncio, json, sys
from pathlib import Path
from agentworks_sandbox import BubblewrapSandbox, SandboxLimits
forks = (
    "import os, time\\nstarted = 0\\nfor _ in range(100):\\n    try:\\n        pid = os.fork()\\n"
    "    except OSError:\\n        continue\\n    if pid == 0:\\n        time.sleep(600)\\n        os._exit(0)\\n"
    "    started += 1\\nprint('started', started)\\n"
)
script = "id -u; touch /usr/planted || echo READ-ONLY; echo INTERFACES $(tail -n +3 /proc/net/dev | cut -d: -f1); "
script += "echo made > made.txt; "
script += "python3 forks.py"
Path(sys.argv[1], "forks.py").write_text(forks)
sandbox = BubblewrapSandbox()
result = asyncio.run(sandbox.run(script, Path(sys.argv[1]), SandboxLimits(processes=20)))
print(json.dumps({"available": sandbox.available(), "output": result.output_tail}))
"""


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user to act as an unprivileged fleet needs root")
def test_a_fleet_run_by_an_unprivileged_user_sandboxes_in_a_user_namespace() -> None:
    """``make dev`` as a person: bwrap makes a user namespace and the command keeps that person's uid."""
    system_python = shutil.which("python3", path="/usr/bin")
    if system_python is None:
        pytest.skip("no system python3 for the unprivileged user (the test's own may be under /root)")
    base = Path(tempfile.mkdtemp(prefix="aw-sandbox-unprivileged-"))  # under /tmp: the user can reach it
    try:
        base.chmod(0o755)
        copy = base / "copy"
        copy.mkdir()
        os.chown(copy, 65534, 65534)
        sources = [str(Path(bubblewrap_module.__file__).parents[1]), str(Path(agentworks_blobs.__file__).parents[1])]
        environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join([*sources, *site.getsitepackages()])}
        as_user = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", system_python]
        done = subprocess.run(
            [*as_user, "-c", _AS_UNPRIVILEGED_FLEET, str(copy)],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        lines = answer["output"].split()
        assert answer["available"] is None
        assert lines[0] == "65534"  # the caller's own uid
        assert "READ-ONLY" in lines
        assert "\nINTERFACES lo\n" in answer["output"]  # a network namespace of its own: loopback only
        assert int(lines[lines.index("started") + 1]) < 20  # RLIMIT_NPROC applies to an unprivileged caller
        assert (copy / "made.txt").stat().st_uid == 65534  # the caller's file, nothing to hand back
    finally:
        shutil.rmtree(base, ignore_errors=True)
