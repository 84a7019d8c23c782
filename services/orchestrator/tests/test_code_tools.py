"""The code tools as a model calls them (``perform``: arguments validated, errors fed back as ``Error: …``), on a
real working copy of a card's branch and the real bubblewrap sandbox: files confined to the working copy, patches,
the diff against main, commits made once per call, and commands whose exit code and output's tail come back and are
recorded (or, with no sandbox, a clear error and nothing run)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from agentworks_events.runs import ToolCallRecord
from agentworks_orchestrator.code.branches import branch_for
from agentworks_orchestrator.code.workcopy import Author, open_working_copy
from agentworks_orchestrator.code.workspace import CodeWorkspace, CommandRun
from agentworks_orchestrator.runs.roles import tools_of
from agentworks_orchestrator.runs.tools import ToolCall, ToolContext, perform
from agentworks_repos import LocalRepositoryHost, git_text
from agentworks_sandbox import BubblewrapSandbox, SandboxLimits

CARD = uuid.UUID("0f1e2d3c-4b5a-4697-8877-665544332211")
RUN = uuid.UUID("9a8b7c6d-5e4f-4a3b-9c2d-1e0f00112233")
pytestmark = pytest.mark.skipif(BubblewrapSandbox().available() is not None, reason="needs bubblewrap")


class Workbench:
    """A developer's tools on a fresh working copy of the card's branch, each call as the loop makes it."""

    def __init__(self, code: CodeWorkspace, recorded: list[CommandRun]) -> None:
        self.code = code
        self.recorded = recorded
        self.calls = 0

    @property
    def root(self) -> Path:
        return self.code.copy.root

    async def call(self, tool: str, step: int = 1, call_id: str | None = None, **arguments: Any) -> ToolCallRecord:
        self.calls += 1
        context = ToolContext(
            run_id=RUN, workspace_id=uuid.uuid4(), project_id=uuid.uuid4(), card_id=CARD, card=None, documents=(),
            core=None, llm=None, image_model="", step=step, code=self.code,  # type: ignore[arg-type]
        )  # fmt: skip
        call = ToolCall(call_id or f"call_{self.calls}", tool, json.dumps(arguments))
        record, effect = await perform(call, tools_of("dev_backend"), context)
        assert effect is None  # the repository and the commands are the orchestrator's own, not core's
        return record


async def bench(tmp_path: Path, sandboxed: bool = True, name: str = "attempt") -> Workbench:
    remote = await LocalRepositoryHost(tmp_path / "repos").ensure(uuid.UUID(int=1))
    copy = await open_working_copy(remote, tmp_path / "work" / name, branch_for(CARD, "Saved cards"))
    recorded: list[CommandRun] = []

    async def record(command: CommandRun) -> None:
        recorded.append(command)

    sandbox = BubblewrapSandbox() if sandboxed else None
    unavailable = None if sandboxed else "bubblewrap is not installed on this machine"
    limits = SandboxLimits(timeout_seconds=60, output_bytes=2_000)
    author = Author("Backend developer", "dev_backend")
    code = CodeWorkspace(copy, author, "SHOP-7", sandbox, unavailable, limits, record)
    return Workbench(code, recorded)


async def test_files_are_written_read_and_searched_inside_the_working_copy_only(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    wrote = await bench_.call("write_file", path="shop/cart.py", content="def total():\n    return 0\n")
    assert (wrote.ok, wrote.result) == (True, "Wrote shop/cart.py (2 lines).")
    listed = await bench_.call("list_files")
    assert listed.result.splitlines() == ["README.md", "shop/cart.py"]
    read = await bench_.call("read_file", path="shop/cart.py", start_line=2, end_line=2)
    assert read.result == "shop/cart.py (lines 2–2 of 2):\n    return 0"
    found = await bench_.call("search_files", pattern="*.py", contains="return")
    assert found.result == "shop/cart.py:2: return 0"
    (tmp_path / "secret.txt").write_text("password")
    (bench_.root / "link").symlink_to(tmp_path / "secret.txt")
    for tool, arguments in [
        ("write_file", {"path": "../escaped.py", "content": "x"}),
        ("write_file", {"path": "/tmp/escaped.py", "content": "x"}),
        ("write_file", {"path": ".git/hooks/pre-commit", "content": "x"}),
        ("write_file", {"path": "link", "content": "overwritten"}),
        ("read_file", {"path": "link"}),
        ("read_file", {"path": "../secret.txt"}),
        ("list_files", {"path": "../"}),
    ]:
        refused = await bench_.call(tool, **arguments)
        assert not refused.ok, (tool, arguments)
        assert refused.result.startswith("Error: ")
    assert (tmp_path / "secret.txt").read_text() == "password"
    assert not (tmp_path / "work" / "escaped.py").exists()
    assert (await bench_.call("search_files", pattern="link", contains="password")).result == "Nothing matches."
    unknown = await bench_.call("read_file", path="nope.py")
    assert unknown.error == "There is no file 'nope.py'; list_files names the files."


async def test_no_tool_reaches_git_through_a_link_into_it(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    (bench_.root / "x").symlink_to(".git")
    (bench_.root / "h").symlink_to(".git/hooks")
    config = (bench_.root / ".git" / "config").read_text()
    hook_patch = "--- /dev/null\n+++ b/h/pre-push\n@@ -0,0 +1 @@\n+echo owned\n"
    config_patch = "--- a/x/config\n+++ b/x/config\n@@ -1 +1,2 @@\n [core]\n+\tfsmonitor = touch owned\n"
    for tool, arguments in [
        ("write_file", {"path": "x/config", "content": "[core]\n\tfsmonitor = touch owned\n"}),
        ("write_file", {"path": "h/pre-push", "content": "echo owned"}),
        ("write_file", {"path": "x/hooks/post-commit", "content": "echo owned"}),
        ("read_file", {"path": "x/config"}),
        ("list_files", {"path": "x"}),
        ("list_files", {"path": "h"}),
        ("search_files", {"pattern": "*", "path": "x"}),
        ("apply_patch", {"patch": hook_patch}),
        ("apply_patch", {"patch": config_patch}),
    ]:
        refused = await bench_.call(tool, **arguments)
        assert not refused.ok, (tool, arguments)
    assert (await bench_.call("search_files", pattern="*", contains="repositoryformatversion")).result == (
        "Nothing matches."
    )
    assert (bench_.root / ".git" / "config").read_text() == config
    assert not [hook for hook in (bench_.root / ".git" / "hooks").iterdir() if not hook.name.endswith(".sample")]


_PLANT = """
printf '#!/bin/sh\\ntouch {marker}-$(basename $0)\\n' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit
for hook in post-commit pre-push reference-transaction post-index-change; do
  cp .git/hooks/pre-commit .git/hooks/$hook
done
printf '[core]\\n\\tfsmonitor = touch {marker}-fsmonitor\\n' >> .git/config
"""


async def test_a_command_cannot_plant_a_hook_or_a_file_system_monitor_for_the_host(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    marker = tmp_path / "ran"
    planted = await bench_.call("run_command", command=_PLANT.format(marker=marker))
    assert "Read-only file system" in planted.result
    await _diff_commit_and_push(bench_)
    assert _ran(tmp_path) == []


async def test_host_side_git_runs_no_hook_and_no_monitor_a_working_copy_names(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    marker = tmp_path / "ran"
    # Planted from outside the sandbox: whatever the repository's files say, the host's git runs none of it.
    planting = await asyncio.create_subprocess_exec("/bin/sh", "-c", _PLANT.format(marker=marker), cwd=bench_.root)
    assert await planting.wait() == 0
    assert "fsmonitor" in (bench_.root / ".git" / "config").read_text()
    await _diff_commit_and_push(bench_)
    assert _ran(tmp_path) == []


# The reviewer's reproduction: a repository nested in the working copy whose clean filter runs a program, which the
# host's git would run (as the host's user) when it looked inside the repository for changes.
_NEST = (
    "mkdir -p vendor/lib && cd vendor/lib && git init -q && "
    "git config filter.x.clean 'sh -c \"id > {marker}; cat\"' && "
    "echo '* filter=x' > .gitattributes && echo hi > f && git add . && "
    "git -c user.name=a -c user.email=a@b commit -qm s && echo planted"
)


async def test_a_repository_a_command_nests_in_the_working_copy_is_removed_and_never_entered(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    marker = tmp_path / "host-pwned"
    planted = await bench_.call("run_command", command=_NEST.format(marker=marker))
    assert planted.ok, planted.result
    assert "exit code 0" in planted.result
    assert "planted" in planted.result
    assert "Removed nested git repositories from the working copy: vendor/lib/.git." in planted.result
    assert not (bench_.root / "vendor" / "lib" / ".git").exists()
    diff = await bench_.call("view_diff")
    assert "+++ b/vendor/lib/f" in diff.result
    committed = await bench_.call("commit", step=2, message="Vendor the library")
    assert committed.ok, committed.result
    assert not marker.exists()
    remote = Path(bench_.code.copy.remote.url)
    tree = await git_text("ls-tree", "-r", bench_.code.copy.branch, cwd=remote)
    assert "blob" in tree
    assert "vendor/lib/f" in tree
    assert "commit" not in tree.split()  # no gitlink: the files went in as plain files


async def test_every_spelling_of_a_nested_git_entry_goes_before_the_host_runs_git(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    marker = tmp_path / "host-pwned"
    # Planted from outside the sandbox, as a command could leave them: a nested repository with a filter, a .git
    # file pointing git at another repository of the host, other cases of the name, and a link named .git.
    planting = await asyncio.create_subprocess_exec("/bin/sh", "-c", _NEST.format(marker=marker), cwd=bench_.root)
    assert await planting.wait() == 0
    marker.unlink()  # planting ran the filter itself, outside any sandbox
    elsewhere = bench_.code.copy.remote.url
    (bench_.root / "pointed").mkdir()
    (bench_.root / "pointed" / ".git").write_text(f"gitdir: {elsewhere}\n")
    (bench_.root / "pointed" / "a.txt").write_text("a\n")
    (bench_.root / "upper" / ".GIT").mkdir(parents=True)
    (bench_.root / "upper" / ".GIT" / "config").write_text("[core]\n\tfsmonitor = touch owned\n")
    (bench_.root / ".Git").mkdir()
    (bench_.root / "linked").mkdir()
    (bench_.root / "linked" / ".git").symlink_to(bench_.root / ".git")
    committed = await bench_.call("commit", message="Everything")
    assert committed.ok, committed.result
    removed = "pointed/.git, upper/.GIT, vendor/lib/.git"
    assert committed.result.startswith(
        f"Removed nested git repositories from the working copy: .Git, linked/.git, {removed}."
    )
    assert not marker.exists()
    assert (bench_.root / ".git" / "HEAD").is_file()  # the working copy's own repository stays
    assert (bench_.root / "pointed" / "a.txt").read_text() == "a\n"
    assert [path.name for path in bench_.root.rglob("*") if path.name.lower() == ".git"] == [".git"]


async def test_no_path_tool_names_a_git_directory_in_any_case(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    patch = "--- /dev/null\n+++ b/vendor/.Git/config\n@@ -0,0 +1 @@\n+[core]\n"
    for tool, arguments in [
        ("write_file", {"path": "vendor/.git", "content": "gitdir: /\n"}),
        ("write_file", {"path": "vendor/.GIT/config", "content": "[core]\n"}),
        ("write_file", {"path": ".Git/config", "content": "[core]\n"}),
        ("read_file", {"path": ".GIT/config"}),
        ("apply_patch", {"patch": patch}),
    ]:
        refused = await bench_.call(tool, **arguments)
        assert refused.error is not None, (tool, arguments)
        assert "git's own files" in refused.error
    assert [path.name for path in bench_.root.rglob("*") if path.name.lower() == ".git"] == [".git"]


async def test_a_huge_file_is_read_in_part_and_skipped_by_a_search_saying_so(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    line = "needle " + "x" * 92 + "\n"  # 100 bytes
    (bench_.root / "huge.log").write_text(line * 60_000)  # 6 MB: over both caps
    (bench_.root / "small.txt").write_text("a needle\n")
    head = await bench_.call("read_file", path="huge.log", start_line=2, end_line=3)
    assert head.result.startswith("huge.log (lines 2–3 of the first 10485 of a file of 6000000 bytes, too large")
    assert head.result.endswith(f"{line}{line}".rstrip("\n"))
    far = await bench_.call("read_file", path="huge.log", start_line=50_000)
    assert far.error is not None
    assert far.error.startswith("'huge.log' is too large (6000000 bytes): read_file reads only its first MiB")
    found = await bench_.call("search_files", pattern="*", contains="needle")
    assert found.result == (
        "small.txt:1: a needle\nNot searched, larger than 4 MiB: huge.log (read_file reads a line range)."
    )


def _ran(directory: Path) -> list[str]:
    return [path.name for path in directory.glob("ran-*")]


async def _diff_commit_and_push(bench_: Workbench) -> None:
    await bench_.call("write_file", path="cart.py", content="TOTAL = 0\n")
    diff = await bench_.call("view_diff")
    assert "+TOTAL = 0" in diff.result
    committed = await bench_.call("commit", step=2, message="Add the cart")
    assert committed.ok, committed.result


async def test_a_fifo_a_command_left_is_refused_by_the_file_tools_without_blocking(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    made = await bench_.call("run_command", command="mkfifo notes.txt && mkdir -p src && mkfifo src/pipe.py")
    assert made.ok, made.result
    (bench_.root / "src" / "real.py").write_text("needle = 1\n")
    released: list[str] = []
    done = threading.Event()

    def release() -> None:
        # A watchdog, so a tool that does block fails this test instead of hanging it: it opens the fifos' other
        # ends until the tools are done.
        if done.wait(30):
            return
        released.append("blocked")
        while not done.wait(0.05):
            for fifo in ("notes.txt", "src/pipe.py"):
                os.close(os.open(bench_.root / fifo, os.O_RDWR | os.O_NONBLOCK))

    watchdog = threading.Thread(target=release)
    watchdog.start()
    try:
        read = await bench_.call("read_file", path="notes.txt")
        searched = await bench_.call("search_files", pattern="*", contains="needle")
        wrote = await bench_.call("write_file", path="src/pipe.py", content="x = 1\n")
    finally:
        done.set()
        watchdog.join()
    assert released == []
    assert read.error is not None
    assert "'notes.txt' is not a regular file" in read.error
    assert searched.result.splitlines() == [
        "src/real.py:1: needle = 1",
        "Not searched, not regular files (a fifo, a socket): notes.txt, src/pipe.py.",
    ]
    assert wrote.error is not None
    assert "'src/pipe.py' is not a regular file" in wrote.error
    assert (bench_.root / "src" / "pipe.py").is_fifo()


async def test_a_patch_is_checked_before_it_applies_and_the_diff_shows_the_branch(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    await bench_.call("write_file", path="cart.py", content="def total():\n    return 0\n")
    patch = "--- a/cart.py\n+++ b/cart.py\n@@ -1,2 +1,2 @@\n def total():\n-    return 0\n+    return 1\n"
    applied = await bench_.call("apply_patch", patch=patch)
    assert (applied.ok, applied.result) == (True, "Applied the patch to cart.py.")
    again = await bench_.call("apply_patch", patch=patch)
    assert again.error is not None
    assert again.error.startswith("The patch does not apply")
    assert (bench_.root / "cart.py").read_text() == "def total():\n    return 1\n"
    diff = await bench_.call("view_diff")
    assert "+++ b/cart.py" in diff.result
    assert "+    return 1" in diff.result


async def test_a_commit_is_pushed_once_per_call_and_a_person_sees_it(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    await bench_.call("write_file", path="cart.py", content="TOTAL = 0\n")
    committed = await bench_.call("commit", step=4, call_id="call_x", message="Add the cart")
    assert committed.ok
    assert committed.result.startswith("Committed ")
    assert committed.result.endswith(f"and pushed it to {branch_for(CARD, 'Saved cards')}.")
    again = await bench_.call("commit", step=4, call_id="call_x", message="Add the cart")
    assert again.result.startswith("Already committed as ")
    remote = Path(bench_.code.copy.remote.url)
    shown = await git_text("log", "-1", "--format=%an|%B", bench_.code.copy.branch, cwd=remote)
    trailers = f"AgentWorks-Run: {RUN}\nAgentWorks-Call: 4/call_x\nAgentWorks-Card: SHOP-7"
    assert shown == f"Backend developer|Add the cart\n\n{trailers}"
    nothing = await bench_.call("commit", step=5, message="Again")
    assert nothing.error == "There is nothing to commit: the working copy has no change since the last commit."


async def test_a_command_runs_in_the_sandbox_and_its_exit_code_and_output_come_back(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    test = "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(1, 2)\n"
    await bench_.call("write_file", path="test_one.py", content=test)
    failed = await bench_.call("run_command", step=3, call_id="call_run", command="python3 -m unittest")
    assert failed.ok  # a failing command is an answer, not a tool error
    assert failed.result.startswith("$ python3 -m unittest\nexit code 1; output:\n")
    assert "AssertionError: 1 != 2" in failed.result
    [recorded] = bench_.recorded
    assert (recorded.call, recorded.command, recorded.result.exit_code) == ("3/call_run", "python3 -m unittest", 1)
    loud = await bench_.call("run_command", command="yes line | head -n 5000")
    assert "exit code 0; output (the output's tail):" in loud.result
    assert len(loud.result) < 3_000
    offline = await bench_.call(
        "run_command", command="python3 -c 'import urllib.request as u; u.urlopen(\"http://example.com\")'"
    )
    assert "exit code 1" in offline.result


async def test_a_command_ended_by_a_signal_is_told_by_its_name_and_the_run_goes_on(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    crashed = await bench_.call("run_command", command="kill -SEGV $$")
    assert crashed.ok
    assert crashed.result.startswith("$ kill -SEGV $$\nexit code 139, killed by SIGSEGV; output:\n")

    (bench_.root / "started").mkdir()  # the command's own sign that it runs, beside nothing else of the copy
    running = asyncio.create_task(bench_.call("run_command", command="rmdir started; exec sleep 3600"))
    launcher = await asyncio.to_thread(_launcher_once_started, bench_.root)
    os.kill(launcher, signal.SIGSEGV)  # bwrap itself crashing under the command
    died = await running
    assert died.ok  # an answer the model can act on, not an error that ends the run
    assert died.result.startswith(
        "$ rmdir started; exec sleep 3600\nexit code 139, the sandbox itself was killed by SIGSEGV before the "
        "command ended, so the command's own outcome is unknown; running it again is safe; output:\n"
    )
    assert [run.result.launcher_died for run in bench_.recorded] == [False, True]


async def test_a_sandbox_the_machine_refuses_a_file_is_a_tool_error_not_a_failed_run(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path)
    assert bench_.code.sandbox is not None
    assert bench_.code.sandbox.available() is None  # probed beforehand: the refusal meets the command itself
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    open_now = {int(fd) for fd in os.listdir("/proc/self/fd")}
    lowest_free = min(set(range(len(open_now) + 1)) - open_now)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))  # no new file descriptor: no pipe for bwrap
    try:
        refused = await bench_.call("run_command", command="touch ran")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert refused.error is not None
    assert refused.error == (
        "The sandbox failed ([Errno 24] Too many open files); the command may not have run. Try it again."
    )
    assert not (bench_.root / "ran").exists()
    assert bench_.recorded == []


def _launcher_once_started(root: Path) -> int:
    """The pid of this process's bwrap bound to ``root``, once its command removed ``started``."""
    deadline = time.monotonic() + 60
    while (root / "started").exists():
        assert time.monotonic() < deadline, "the command did not start"
        time.sleep(0.05)
    bound = str(root.resolve())
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            arguments = (entry / "cmdline").read_text().split("\0")
        except (OSError, ValueError):
            continue
        if ppid == os.getpid() and Path(arguments[0]).name == "bwrap" and bound in arguments:
            return int(entry.name)
    raise AssertionError("no bwrap runs the command")


async def test_with_no_sandbox_a_command_is_refused_saying_why_and_nothing_runs(tmp_path: Path) -> None:
    bench_ = await bench(tmp_path, sandboxed=False)
    refused = await bench_.call("run_command", command="touch ran")
    assert refused.error == ("Commands cannot run here: bubblewrap is not installed on this machine. Nothing was run.")
    assert not (bench_.root / "ran").exists()
    assert bench_.recorded == []


def test_each_role_is_offered_the_code_tools_its_job_needs() -> None:
    def code_tools(agent: str) -> set[str]:
        names = {tool.name for tool in tools_of(agent)}
        return names & {"list_files", "read_file", "search_files", "view_diff", "write_file", "apply_patch",
                        "commit", "run_command"}  # fmt: skip

    reads = {"list_files", "read_file", "search_files", "view_diff"}
    for developer in ("dev_backend", "dev_frontend"):
        assert code_tools(developer) == reads | {"write_file", "apply_patch", "commit", "run_command"}
    assert code_tools("reviewer") == reads
    assert code_tools("qa") == code_tools("troubleshooter") == reads | {"run_command"}
    for agent in ("ceo_copilot", "strategy", "prd", "designer", "architect"):
        assert code_tools(agent) == set()
