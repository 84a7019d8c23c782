"""The Cloud Run job sandbox through the strict fake of the Admin API, which runs the job runner for real."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_blobs import LocalBlobs
from agentworks_sandbox import (
    BubblewrapSandbox,
    CloudRunJobSandbox,
    NoSandbox,
    SandboxFailure,
    SandboxLimits,
    SandboxUnavailable,
    sandbox_from_settings,
)
from agentworks_sandbox.archive import pack, replace_contents, unpack
from agentworks_sandbox.container import IN_JOB_CONTAINER, JobContainerExecutor

from .conftest import JOB, LOCATION, PROJECT, TOKEN, FakeCloudRun

_UNAVAILABLE = BubblewrapSandbox().available()
needs_bwrap = pytest.mark.skipif(_UNAVAILABLE is not None, reason=f"no bubblewrap sandbox here: {_UNAVAILABLE}")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy = tmp_path / "working-copy"
    (copy / "src").mkdir(parents=True)
    (copy / "src" / "app.py").write_text("print('hello')\n")
    (copy / "old.txt").write_text("to be removed\n")
    return copy


def _names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def _tree(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@needs_bwrap
async def test_a_command_runs_as_an_execution_and_its_changes_come_back(
    cloud_run_sandbox: CloudRunJobSandbox, cloud_run: FakeCloudRun, workdir: Path
) -> None:
    script = "python3 src/app.py; echo made > made.txt; rm old.txt; echo to-stderr >&2; exit 3"
    result = await cloud_run_sandbox.run(script, workdir, SandboxLimits(timeout_seconds=60))
    assert (result.exit_code, result.output_tail) == (3, "hello\nto-stderr\n")
    assert not result.timed_out
    assert _tree(workdir) == {"made.txt": "made\n", "src/app.py": "print('hello')\n"}
    [body] = cloud_run.run_bodies
    overrides = body["overrides"]
    assert overrides["taskCount"] == 1
    assert overrides["timeout"] == "360s"
    assert overrides["containerOverrides"][0]["args"] == ["/bin/sh", "-c", script]
    assert {v["name"] for v in overrides["containerOverrides"][0]["env"]} == {"AW_SANDBOX_RUN", "AW_SANDBOX_LIMITS"}


@needs_bwrap
async def test_an_unchanged_working_copy_is_left_as_it_was(
    cloud_run_sandbox: CloudRunJobSandbox, sandbox_blobs: LocalBlobs, workdir: Path
) -> None:
    before = (workdir / "old.txt").stat().st_mtime_ns
    result = await cloud_run_sandbox.run(["cat", "old.txt"], workdir)
    assert (result.exit_code, result.output_tail) == (0, "to be removed\n")
    assert (workdir / "old.txt").stat().st_mtime_ns == before
    assert [name for name in await sandbox_blobs.list("sandbox/") if name.endswith("output.tar.gz")] == []


@needs_bwrap
async def test_the_limits_travel_with_the_command(cloud_run_sandbox: CloudRunJobSandbox, workdir: Path) -> None:
    limits = SandboxLimits(timeout_seconds=2, output_bytes=1024)
    result = await cloud_run_sandbox.run("yes | head -c 100000; while :; do :; done", workdir, limits)
    assert result.timed_out
    assert result.killed_reason == "timeout"
    assert result.truncated
    assert len(result.output_tail) == 1024


@needs_bwrap
async def test_cancelling_a_run_cancels_the_execution(
    cloud_run_sandbox: CloudRunJobSandbox, cloud_run: FakeCloudRun, workdir: Path
) -> None:
    task = asyncio.create_task(cloud_run_sandbox.run("sleep 600", workdir, SandboxLimits(timeout_seconds=900)))
    while not cloud_run.executions:  # noqa: ASYNC110 - the fake records the execution when jobs.run arrives
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [execution] = cloud_run.executions.values()
    assert execution.cancelled


async def test_an_unknown_job_is_a_failure_naming_it(
    sandbox_blobs: LocalBlobs, cloud_run_http: httpx.AsyncClient, workdir: Path
) -> None:
    async def token() -> str:
        return TOKEN

    sandbox = CloudRunJobSandbox(
        project=PROJECT, location=LOCATION, job="missing", blobs=sandbox_blobs, http=cloud_run_http, tokens=token
    )
    with pytest.raises(SandboxFailure, match="Resource 'missing' of kind 'JOB'"):
        await sandbox.run("true", workdir)


async def test_an_execution_that_ends_without_a_result_is_a_failure(
    cloud_run_sandbox: CloudRunJobSandbox, cloud_run: FakeCloudRun, workdir: Path
) -> None:
    cloud_run.job_env["AW_SANDBOX_PREFIX"] = "elsewhere"  # the job looks for the working copy where none is
    with pytest.raises(SandboxFailure, match=r"ended without a result \(succeeded 0, failed 1\)"):
        await cloud_run_sandbox.run("true", workdir)


async def _post(client: httpx.AsyncClient, body: Any, *, token: str = TOKEN, job: str = JOB) -> httpx.Response:
    url = f"https://run.googleapis.com/v2/projects/{PROJECT}/locations/{LOCATION}/jobs/{job}:run"
    return await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"overrides": {"taskCount": 1, "parallelism": 1}}, 'Unknown name "parallelism"'),
        ({"override": {}}, 'Unknown name "override"'),
        ({"overrides": {"containerOverrides": [{"args": "make test"}]}}, "container_overrides[0].args"),
        ({"overrides": {"containerOverrides": [{"command": ["sh"]}]}}, 'Unknown name "command"'),
        ({"overrides": {"containerOverrides": [{"env": [{"name": "A B", "value": "x"}]}]}}, "environment variable"),
        ({"overrides": {"containerOverrides": [{"env": [{"name": "A", "value": 1}]}]}}, "environment variable"),
        ({"overrides": {"timeout": 60}}, "overrides.timeout"),
        ({"overrides": {"timeout": "1m"}}, "overrides.timeout"),
        ({"overrides": {"taskCount": "1"}}, "task_count"),
        ({"overrides": {"containerOverrides": [{"name": "other"}]}}, "is not in the job"),
    ],
)
async def test_the_fake_refuses_what_the_api_refuses(
    cloud_run_http: httpx.AsyncClient, cloud_run: FakeCloudRun, body: Any, message: str
) -> None:
    response = await _post(cloud_run_http, body)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert message in response.json()["error"]["message"]
    assert cloud_run.executions == {}


async def test_the_fake_refuses_a_missing_token_and_an_unknown_job(cloud_run_http: httpx.AsyncClient) -> None:
    assert (await _post(cloud_run_http, {}, token="wrong")).status_code == 401
    missing = await _post(cloud_run_http, {}, job="nope")
    assert (missing.status_code, missing.json()["error"]["status"]) == (404, "NOT_FOUND")


def test_unpacking_skips_members_that_point_or_land_outside(tmp_path: Path) -> None:
    tarball = _tarball(
        ("../escape.txt", tarfile.REGTYPE, ""),
        ("/abs.txt", tarfile.REGTYPE, ""),
        ("link-out", tarfile.SYMTYPE, "/etc/passwd"),
        ("link-up", tarfile.SYMTYPE, "../../outside"),
        ("device", tarfile.CHRTYPE, ""),
        ("kept.txt", tarfile.REGTYPE, ""),
    )
    destination = tmp_path / "copy"
    destination.mkdir()
    unpack(tarball, destination)
    assert sorted(p.name for p in destination.iterdir()) == ["kept.txt"]
    assert not (tmp_path / "escape.txt").exists()


def _tarball(*members: tuple[str, bytes, str]) -> bytes:
    """A job's output as a command could forge it: (name, kind, content or link target) in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, kind, value in members:
            member = tarfile.TarInfo(name)
            member.type = kind
            if kind == tarfile.REGTYPE:
                member.size = len(value)
                tar.addfile(member, io.BytesIO(value.encode()))
            else:
                member.linkname = value
                tar.addfile(member)
    return buffer.getvalue()


@pytest.fixture
def working_copy(tmp_path: Path) -> Path:
    destination = tmp_path / "copy"
    (destination / ".git").mkdir(parents=True)
    (destination / ".git" / "config").write_text("local\n")
    return destination


@pytest.mark.parametrize(
    "members",
    [
        [("x", tarfile.SYMTYPE, "."), ("x/.git/config", tarfile.REGTYPE, "[filter]\n")],
        [("x", tarfile.SYMTYPE, "."), ("x/x/.GIT/config", tarfile.REGTYPE, "[filter]\n")],
        [("up", tarfile.SYMTYPE, ".."), ("up/copy/.git/config", tarfile.REGTYPE, "[filter]\n")],
        [("d", tarfile.DIRTYPE, ""), ("d/in", tarfile.SYMTYPE, "../.git"), ("d/in/config", tarfile.REGTYPE, "x\n")],
        [("x", tarfile.SYMTYPE, "."), ("x/.Git", tarfile.SYMTYPE, ".")],
        [(".GIT/config", tarfile.REGTYPE, "[filter]\n")],
        [("config", tarfile.LNKTYPE, ".git/config"), ("config", tarfile.REGTYPE, "[filter]\n")],
        [("x", tarfile.SYMTYPE, "."), ("h", tarfile.LNKTYPE, "x/.git/config")],
        [("c", tarfile.SYMTYPE, ".git/config"), ("c", tarfile.REGTYPE, "[filter]\n")],
        [("c", tarfile.SYMTYPE, "./.git/config"), ("hard", tarfile.LNKTYPE, "c")],
    ],
    ids=[
        "symlink-then-member", "link-chain-upper-case", "link-up-and-back", "link-in-subdirectory", "link-named-git",
        "upper-case-git", "hardlink-then-file", "hardlink-through-link", "link-then-file", "hardlink-to-link",
    ],
)  # fmt: skip
def test_no_forged_member_writes_into_the_working_copys_git(
    working_copy: Path, members: list[tuple[str, bytes, str]]
) -> None:
    replace_contents(working_copy, _tarball(*members, ("kept.txt", tarfile.REGTYPE, "kept\n")), keep=".git")
    assert (working_copy / ".git" / "config").read_text() == "local\n"
    assert [p.name for p in (working_copy / ".git").iterdir()] == ["config"]
    assert (working_copy / "kept.txt").read_text() == "kept\n"
    assert [p for p in working_copy.rglob("*") if p.name.lower() == ".git"] == [working_copy / ".git"]


def test_no_member_lands_or_links_outside_and_no_fifo_is_made(tmp_path: Path, working_copy: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("outside\n")
    forged = _tarball(
        ("hard-out", tarfile.LNKTYPE, str(outside)),
        ("hard-up", tarfile.LNKTYPE, "../outside.txt"),
        ("up", tarfile.SYMTYPE, ".."),
        ("hard-via-link", tarfile.LNKTYPE, "up/outside.txt"),
        ("up/outside.txt", tarfile.REGTYPE, "overwritten\n"),
        ("../outside.txt", tarfile.REGTYPE, "overwritten\n"),
        (str(outside), tarfile.REGTYPE, "overwritten\n"),
        ("pipe", tarfile.FIFOTYPE, ""),
        ("kept.txt", tarfile.REGTYPE, "kept\n"),
    )
    replace_contents(working_copy, forged, keep=".git")
    assert outside.read_text() == "outside\n"
    assert outside.stat().st_nlink == 1
    # The link up was refused, so up/outside.txt is a file of a directory of the working copy's own.
    assert sorted(p.name for p in working_copy.iterdir()) == [".git", "kept.txt", "up"]
    assert not (working_copy / "up").is_symlink()
    assert [p.name for p in (working_copy / "up").iterdir()] == ["outside.txt"]


def test_a_later_member_replaces_an_earlier_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    destination = tmp_path / "copy"
    destination.mkdir()
    (tmp_path / "target.txt").write_text("target\n")
    unpack(_tarball(("a.txt", tarfile.REGTYPE, "a\n"), ("b", tarfile.SYMTYPE, "a.txt"), ("b", tarfile.REGTYPE, "b\n")),
           destination)  # fmt: skip
    assert (destination / "a.txt").read_text() == "a\n"
    assert not (destination / "b").is_symlink()
    assert (destination / "b").read_text() == "b\n"


@needs_bwrap
async def test_the_working_copys_git_is_never_taken_back_from_the_job(
    cloud_run_sandbox: CloudRunJobSandbox, cloud_run: FakeCloudRun, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In the job's own container nothing stops the command writing its copy of .git: the adapter must not take it.
    monkeypatch.setenv(IN_JOB_CONTAINER, "1")
    cloud_run.executor = JobContainerExecutor()
    (workdir / ".git" / "hooks").mkdir(parents=True)
    (workdir / ".git" / "config").write_text("[core]\n")
    script = (
        "printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' > .git/config && echo hook > .git/hooks/pre-push"
        " && ln -s .git/config linked-config && ln .git/config hard-config && echo made > made.txt"
    )
    result = await cloud_run_sandbox.run(script, workdir, SandboxLimits(timeout_seconds=60))
    assert result.exit_code == 0, result.output_tail
    assert (workdir / ".git" / "config").read_text() == "[core]\n"
    assert list((workdir / ".git" / "hooks").iterdir()) == []
    assert _names(workdir) == [".git", "made.txt", "old.txt", "src"]


def test_unpacking_can_keep_a_top_level_entry_out_of_reach(tmp_path: Path) -> None:
    tarball = _tarball(
        (".git/config", tarfile.REGTYPE, ""),
        ("./.git/hooks/pre-push", tarfile.REGTYPE, ""),
        ("to-git", tarfile.SYMTYPE, ".git"),
        ("sub/to-hooks", tarfile.SYMTYPE, "../.git/hooks"),
        ("hard", tarfile.LNKTYPE, ".git/config"),
        ("kept.txt", tarfile.REGTYPE, ""),
    )
    destination = tmp_path / "copy"
    (destination / ".git").mkdir(parents=True)
    (destination / ".git" / "config").write_text("local\n")
    replace_contents(destination, tarball, keep=".git")
    assert sorted(p.name for p in destination.iterdir()) == [".git", "kept.txt"]
    assert [p.name for p in (destination / ".git").iterdir()] == ["config"]
    assert (destination / ".git" / "config").read_text() == "local\n"


def test_packing_keeps_links_as_links(tmp_path: Path) -> None:
    source, copy = tmp_path / "source", tmp_path / "copy"
    source.mkdir()
    copy.mkdir()
    (source / "real.txt").write_text("real\n")
    (source / "alias.txt").symlink_to("real.txt")
    unpack(pack(source), copy)
    assert os.readlink(copy / "alias.txt") == "real.txt"


def test_the_job_container_executor_runs_only_in_the_job_container(tmp_path: Path) -> None:
    reason = JobContainerExecutor().available()
    assert reason == "this executor runs only inside the sandbox job's container"
    with pytest.raises(SandboxUnavailable):
        asyncio.run(JobContainerExecutor().run("true", tmp_path))


async def test_the_job_container_executor_applies_the_limits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(IN_JOB_CONTAINER, "1")
    monkeypatch.setenv("AW_FAKE_SECRET", "canary")
    limits = SandboxLimits(open_files=55, timeout_seconds=2)
    result = await JobContainerExecutor().run("ulimit -n; env | grep -c canary; id -u; sleep 30", tmp_path, limits)
    expected_uid = "65534" if os.geteuid() == 0 else str(os.geteuid())
    assert result.output_tail.split() == ["55", "0", expected_uid]
    assert result.timed_out


def test_settings_choose_the_sandbox() -> None:
    none = sandbox_from_settings("none")
    assert isinstance(none, NoSandbox)
    assert none.available() == "commands are disabled: no sandbox is configured (AW_ORCHESTRATOR_SANDBOX=none)"
    assert isinstance(sandbox_from_settings("bubblewrap"), BubblewrapSandbox)
    chosen = NoSandbox("stand-in for the job")
    assert sandbox_from_settings("cloud-run-job", lambda: chosen) is chosen
    with pytest.raises(ValueError, match="job settings"):
        sandbox_from_settings("cloud-run-job")
