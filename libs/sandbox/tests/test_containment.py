"""What a command in the bubblewrap sandbox cannot do: each test tries one escape and checks the host afterwards."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentworks_sandbox import BubblewrapSandbox, SandboxLimits

_UNAVAILABLE = BubblewrapSandbox().available()
pytestmark = pytest.mark.skipif(_UNAVAILABLE is not None, reason=f"no bubblewrap sandbox here: {_UNAVAILABLE}")


@pytest.fixture
def sandbox() -> BubblewrapSandbox:
    return BubblewrapSandbox()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy = tmp_path / "working-copy"
    copy.mkdir()
    (copy / "README.md").write_text("# project\n")
    return copy


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, int]]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server, server.getsockname()[1]
    server.close()


def _processes_with(marker: str) -> list[int]:
    """Host processes whose command line holds ``marker`` (a token only the test's command uses)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _existing(paths: list[str]) -> list[str]:
    return [path for path in paths if Path(path).exists()]


def _read(path: Path) -> str:
    return path.read_text()


def _marker() -> str:
    # A sleep duration nobody else uses names the test's processes on the host.
    return f"{uuid.uuid4().int % 10**6 + 1000}.{uuid.uuid4().int % 997}"


async def test_no_network_reaches_a_listener_on_the_hosts_loopback(
    sandbox: BubblewrapSandbox, workdir: Path, listener: tuple[socket.socket, int]
) -> None:
    server, port = listener
    script = (
        "import socket\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n    print('CONNECTED')\n"
        "except OSError as error:\n    print('refused:', error)\n"
    )
    result = await sandbox.run(["python3", "-c", script], workdir)
    assert result.exit_code == 0, result.output_tail
    assert "refused:" in result.output_tail
    assert "CONNECTED" not in result.output_tail
    with pytest.raises(BlockingIOError):
        server.accept()


async def test_no_network_interface_but_loopback(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    result = await sandbox.run("cat /proc/net/dev", workdir)
    interfaces = {line.split(":")[0].strip() for line in result.output_tail.splitlines() if ":" in line}
    assert interfaces == {"lo"}


async def test_writes_outside_the_working_copy_do_not_reach_the_host(
    sandbox: BubblewrapSandbox, workdir: Path, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex
    host_home = Path(os.environ.get("HOME", "/root"))
    host_tmp_file = Path("/tmp") / f"aw-sandbox-escape-{token}"
    targets = ["/escape", f"/usr/escape-{token}", str(host_tmp_file), str(host_home / f"escape-{token}")]
    targets.append(str(tmp_path / f"escape-{token}"))  # beside the working copy on the host
    script = "; ".join(f"echo {token} > {target} && echo WROTE {target}" for target in targets)
    script += f"; echo {token} > ../escape-{token} && echo WROTE parent; echo {token} > inside.txt"
    result = await sandbox.run(script, workdir)
    assert "WROTE" not in result.output_tail.replace("WROTE /tmp/", "")  # the sandbox's own /tmp is private
    assert _existing(targets) == []
    assert _read(workdir / "inside.txt") == f"{token}\n"


async def test_the_system_is_read_only(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    result = await sandbox.run("touch /usr/bin/aw-planted || echo REFUSED", workdir)
    assert "REFUSED" in result.output_tail
    assert _existing(["/usr/bin/aw-planted"]) == []


async def test_a_fork_bomb_is_stopped_and_leaves_nothing_running(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    marker = _marker()
    bomb = f"bomb() {{ sleep {marker} & bomb | bomb & }}; bomb; wait"
    limits = SandboxLimits(processes=32, timeout_seconds=6)  # the limit is met within milliseconds
    result = await sandbox.run(bomb, workdir, limits)
    assert result.timed_out or result.exit_code != 0
    assert "fork" in result.output_tail.lower()  # the process limit refused forks: the bomb never grew past it
    assert _processes_with(marker) == []
    still_forks = await asyncio.create_subprocess_exec("true")
    assert await still_forks.wait() == 0


async def test_the_process_limit_caps_how_many_processes_start(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    marker = _marker()
    script = (
        "import os, sys, time\n"
        "children = []\n"
        "for _ in range(100):\n"
        "    try:\n        pid = os.fork()\n    except OSError:\n        continue\n"
        "    if pid == 0:\n        time.sleep(600)\n        os._exit(0)\n"
        "    children.append(pid)\n"
        "print('started', len(children))\n"
    )
    result = await sandbox.run(["python3", "-c", script, marker], workdir, SandboxLimits(processes=20))
    started = int(result.output_tail.split("started", 1)[1].split()[0])
    assert started < 20  # other sandboxes' processes of the same uid count too, so fewer may start
    assert _processes_with(marker) == []  # the children died with the sandbox


async def test_an_endless_loop_is_stopped_by_the_time_limit_with_its_children(
    sandbox: BubblewrapSandbox, workdir: Path
) -> None:
    marker = _marker()
    script = f"(sleep {marker} &); echo looping; while :; do :; done"
    result = await sandbox.run(script, workdir, SandboxLimits(timeout_seconds=2))
    assert result.timed_out
    assert result.killed_reason == "timeout"
    assert result.exit_code == 137
    assert "looping" in result.output_tail
    assert _processes_with(marker) == []


async def test_cpu_time_limit_stops_a_busy_command(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    result = await sandbox.run("while :; do :; done", workdir, SandboxLimits(cpu_seconds=1, timeout_seconds=120))
    assert not result.timed_out
    assert result.killed_reason == "cpu_time"


async def test_huge_output_is_truncated_keeping_the_tail(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    script = "yes 0123456789abcdef | head -c 5000000; echo; echo THE-END"
    result = await sandbox.run(script, workdir, SandboxLimits(output_bytes=64 << 10))
    assert result.exit_code == 0
    assert result.truncated
    assert len(result.output_tail.encode()) <= 64 << 10
    assert result.output_tail.endswith("THE-END\n")


async def test_both_streams_are_merged_in_order(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    result = await sandbox.run("echo one; echo two >&2; echo three; exit 3", workdir)
    assert result.output_tail == "one\ntwo\nthree\n"
    assert result.exit_code == 3
    assert not result.truncated
    assert result.killed_reason is None


async def test_a_symlink_out_of_the_working_copy_reaches_no_host_file(
    sandbox: BubblewrapSandbox, workdir: Path, tmp_path: Path
) -> None:
    host = tmp_path / "host"
    host.mkdir()
    secret = host / "secret.txt"
    secret.write_text("host-secret-canary\n")
    os.lchown(secret, 1234, 1234)
    (workdir / "absolute").symlink_to(secret)
    (workdir / "relative").symlink_to(Path("..") / "host" / "secret.txt")
    (workdir / "directory").symlink_to(host)
    (workdir / "etc-shadow").symlink_to("/etc/shadow")
    script = (
        "cat absolute relative directory/secret.txt etc-shadow; "
        "echo overwritten > absolute; echo overwritten > relative; echo planted > directory/planted.txt; true"
    )
    result = await sandbox.run(script, workdir)
    assert "host-secret-canary" not in result.output_tail
    assert "root:" not in result.output_tail
    assert secret.read_text() == "host-secret-canary\n"
    assert not (host / "planted.txt").exists()
    assert (secret.stat().st_uid, secret.stat().st_gid) == (1234, 1234)  # handing the copy back follows no link


async def test_memory_limit_refuses_a_large_allocation(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    script = "try:\n    block = bytearray(1 << 30)\n    print('ALLOCATED')\nexcept MemoryError:\n    print('REFUSED')"
    result = await sandbox.run(["python3", "-c", script], workdir, SandboxLimits(memory_bytes=256 << 20))
    assert "REFUSED" in result.output_tail
    assert "ALLOCATED" not in result.output_tail


async def test_file_size_limit_stops_a_growing_file(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    result = await sandbox.run("head -c 4000000 /dev/zero > big.bin", workdir, SandboxLimits(file_size_bytes=1 << 20))
    assert result.killed_reason == "file_size"
    assert (workdir / "big.bin").stat().st_size <= 1 << 20


async def test_the_environment_does_not_leak_host_variables(
    sandbox: BubblewrapSandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("AW_FAKE_SECRET", canary)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", f"/secrets/{canary}.json")
    result = await sandbox.run(["env"], workdir)
    assert canary not in result.output_tail
    names = {line.split("=", 1)[0] for line in result.output_tail.splitlines()}
    assert names <= {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PWD"}


async def test_open_files_limit_applies(sandbox: BubblewrapSandbox, workdir: Path) -> None:
    result = await sandbox.run(["sh", "-c", "ulimit -n"], workdir, SandboxLimits(open_files=77))
    assert result.output_tail.strip() == "77"
