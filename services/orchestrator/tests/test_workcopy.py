"""A run attempt's working copy of its card's branch, against a real bare repository of the embedded host: paths
confined to it, patches, commits as the agent with their trailers (never twice for one call), pushes without force
that rebase onto a person's push or report a conflict, and the file changes of a resumed run put back."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentworks_orchestrator.code.branches import branch_for
from agentworks_orchestrator.code.replay import replay
from agentworks_orchestrator.code.workcopy import Author, WorkingCopy, WorkingCopyError, open_working_copy
from agentworks_repos import GitRemote, LocalRepositoryHost, git_text, run_git

CARD = uuid.UUID("5d0c4f3e-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
BRANCH = branch_for(CARD, "Saved cards")
AGENT = Author("Backend developer", "dev_backend")
PERSON = {
    "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
}  # fmt: skip


@pytest.fixture
async def remote(tmp_path: Path) -> GitRemote:
    return await LocalRepositoryHost(tmp_path / "repos").ensure(uuid.uuid4())


async def opened(remote: GitRemote, tmp_path: Path, name: str = "attempt-1") -> WorkingCopy:
    return await open_working_copy(remote, tmp_path / "work" / name, BRANCH)


async def branch_log(remote: GitRemote, branch: str) -> list[str]:
    trailer = "%(trailers:key=AgentWorks-Call,valueonly,separator=%x2C)"
    listed = await git_text("log", f"--format=%an <%ae>|%s|{trailer}", branch, cwd=Path(remote.url))
    return [line for line in listed.splitlines() if line]


async def person_pushes(remote: GitRemote, tmp_path: Path, branch: str, path: str, content: str) -> None:
    """A person clones the card's branch, changes a file and pushes, as with any git remote."""
    clone = tmp_path / f"person-{uuid.uuid4().hex[:6]}"
    await run_git("clone", "--quiet", "--branch", branch, remote.url, str(clone))
    (clone / path).write_text(content)
    await run_git("add", "--all", cwd=clone)
    await run_git("commit", "--quiet", "-m", f"Edit {path}", cwd=clone, env=PERSON)
    await run_git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)


async def test_a_working_copy_named_relative_to_the_fleets_directory_is_cloned_where_named(
    remote: GitRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a fleet's data directory is relative to where it runs (.dev/offset-N)
    copy = await open_working_copy(remote, Path(".dev", "work", "attempt-1"), BRANCH)
    assert copy.root == tmp_path / ".dev" / "work" / "attempt-1"
    assert (copy.root / "README.md").is_file()
    assert await copy.ref("HEAD") is not None
    assert not (copy.root / ".dev").exists()


async def test_paths_outside_the_working_copy_or_into_git_are_refused(remote: GitRemote, tmp_path: Path) -> None:
    copy = await opened(remote, tmp_path)
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (copy.root / "escape").symlink_to(outside)
    (copy.root / "escape_dir").symlink_to(tmp_path)
    (copy.root / "inside").symlink_to(copy.root / "README.md")
    for path, says in [
        ("/etc/passwd", "absolute"),
        ("../secret.txt", "'..'"),
        ("src/../../secret.txt", "'..'"),
        (".git/config", "git's own files"),
        ("sub/.git/hooks/pre-commit", "git's own files"),
        ("escape", "symbolic link"),
        ("escape_dir/secret.txt", "symbolic link"),
    ]:
        with pytest.raises(WorkingCopyError, match=says):
            copy.path(path)
    assert copy.path("inside") == (copy.root / "README.md").resolve()
    assert copy.path("src/new.py") == copy.root.resolve() / "src" / "new.py"
    assert list(copy.files()) == ["README.md", "escape", "escape_dir", "inside"]


async def test_a_patch_applies_checked_and_one_leading_out_is_refused(remote: GitRemote, tmp_path: Path) -> None:
    copy = await opened(remote, tmp_path)
    readme = (copy.root / "README.md").read_text().splitlines()
    patch = (
        "--- a/README.md\n+++ b/README.md\n"
        f"@@ -1,{len(readme)} +1,{len(readme) + 1} @@\n" + "".join(f" {line}\n" for line in readme) + "+Saved cards.\n"
    )
    assert await copy.apply_patch(patch) == ["README.md"]
    assert (copy.root / "README.md").read_text().endswith("Saved cards.\n")
    with pytest.raises(WorkingCopyError, match="does not apply"):
        await copy.apply_patch(patch.replace("+Saved cards.", "+Again.").replace(f" {readme[0]}", " No such line"))
    escaping = "--- a/../outside.txt\n+++ b/../outside.txt\n@@ -0,0 +1 @@\n+x\n"
    with pytest.raises(WorkingCopyError):
        await copy.apply_patch(escaping)
    assert not (tmp_path / "work" / "outside.txt").exists()
    into_git = "--- /dev/null\n+++ b/.git/hooks/post-commit\n@@ -0,0 +1 @@\n+echo owned\n"
    with pytest.raises(WorkingCopyError):
        await copy.apply_patch(into_git)
    assert not (copy.root / ".git" / "hooks" / "post-commit").exists()


async def test_a_commit_is_the_agents_with_trailers_and_is_made_once_per_call(
    remote: GitRemote, tmp_path: Path
) -> None:
    copy = await opened(remote, tmp_path)
    branch = BRANCH
    assert copy.branch == branch
    (copy.root / "cards.py").write_text("CARDS = []\n")
    run = str(uuid.uuid4())
    first = await copy.commit_and_push("Add the card store", AGENT, run, "3/call_a")
    assert first.made
    message = await git_text("log", "-1", "--format=%B", branch, cwd=Path(remote.url))
    assert message == f"Add the card store\n\nAgentWorks-Run: {run}\nAgentWorks-Call: 3/call_a"
    # The attempt died after pushing; the next one does the step again in a fresh working copy.
    again = await opened(remote, tmp_path, "attempt-2")
    (again.root / "cards.py").write_text("CARDS = []\n")
    second = await again.commit_and_push("Add the card store", AGENT, run, "3/call_a")
    assert (second.made, second.sha) == (False, first.sha)
    assert await branch_log(remote, branch) == [
        "Backend developer <dev-backend@agents.agentworks.local>|Add the card store|3/call_a",
        "AgentWorks <agentworks@users.noreply.agentworks.dev>|Initial commit|",
    ]
    with pytest.raises(WorkingCopyError, match="nothing to commit"):
        await again.commit_and_push("Nothing", AGENT, run, "4/call_b")
    # Another run's call of the same step and id (a model numbering its calls alike) is its own commit.
    (again.root / "screen.py").write_text("SCREEN = 1\n")
    other = await again.commit_and_push(
        "Add the screen", Author("Frontend developer", "dev_frontend"), "run-2", "3/call_a"
    )
    assert other.made
    assert len(await branch_log(remote, branch)) == 3


async def test_a_persons_push_meanwhile_is_kept_and_the_next_run_sees_it(remote: GitRemote, tmp_path: Path) -> None:
    copy = await opened(remote, tmp_path)
    (copy.root / "cards.py").write_text("CARDS = []\n")
    await copy.commit_and_push("Add the card store", AGENT, "run", "2/call_a")
    await person_pushes(remote, tmp_path, copy.branch, "NOTES.md", "Keep it small.\n")
    (copy.root / "test_cards.py").write_text("import cards\n")
    committed = await copy.commit_and_push("Test the card store", AGENT, "run", "3/call_b")
    assert committed.made
    assert committed.rebased
    subjects = [line.split("|")[1] for line in await branch_log(remote, copy.branch)]
    assert subjects == ["Test the card store", "Edit NOTES.md", "Add the card store", "Initial commit"]
    next_run = await opened(remote, tmp_path, "next-run")
    assert (next_run.root / "NOTES.md").read_text() == "Keep it small.\n"
    assert next_run.branch == copy.branch


async def test_two_agents_committing_at_once_both_land_on_the_branch(remote: GitRemote, tmp_path: Path) -> None:
    """The repository refuses the later of two pushes racing for the branch (its ref moved while the push was on
    the way); that push is rebased onto the other and pushed again, like a push refused as non-fast-forward."""
    copies = [await opened(remote, tmp_path, f"agent-{n}") for n in range(4)]
    for n, copy in enumerate(copies):
        (copy.root / f"part_{n}.py").write_text(f"PART = {n}\n")
    await asyncio.gather(
        *(
            copy.commit_and_push(f"Add part {n}", AGENT, f"run-{n}", "6/call_offline_6_1")
            for n, copy in enumerate(copies)
        )
    )
    subjects = sorted(line.split("|")[1] for line in await branch_log(remote, BRANCH))
    assert subjects == ["Add part 0", "Add part 1", "Add part 2", "Add part 3", "Initial commit"]


async def test_a_conflict_with_a_persons_push_is_reported_and_nothing_is_forced(
    remote: GitRemote, tmp_path: Path
) -> None:
    copy = await opened(remote, tmp_path)
    (copy.root / "cards.py").write_text("CARDS = []\n")
    await copy.commit_and_push("Add the card store", AGENT, "run", "2/call_a")
    await person_pushes(remote, tmp_path, copy.branch, "cards.py", "CARDS: list[str] = []\n")
    person_head = await git_text("rev-parse", copy.branch, cwd=Path(remote.url))
    (copy.root / "cards.py").write_text("CARDS = {}\n")
    with pytest.raises(WorkingCopyError, match=r"conflict with it in cards\.py"):
        await copy.commit_and_push("Use a dict", AGENT, "run", "3/call_b")
    assert await git_text("rev-parse", copy.branch, cwd=Path(remote.url)) == person_head
    assert "<<<<<<<" in (copy.root / "cards.py").read_text()
    assert await copy.ref("HEAD") == person_head


async def test_a_resumed_run_gets_back_its_changes_since_its_last_commit(remote: GitRemote, tmp_path: Path) -> None:
    def call(call_id: str, name: str, arguments: dict[str, str]) -> dict[str, object]:
        function = {"name": name, "arguments": json.dumps(arguments)}
        return {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": function}]}

    def result(call_id: str, content: str) -> dict[str, str]:
        return {"role": "tool", "tool_call_id": call_id, "content": content}

    copy = await opened(remote, tmp_path)
    (copy.root / "cards.py").write_text("CARDS = []\n")
    await copy.commit_and_push("Add the card store", AGENT, "run", "3/c3")
    patch = "--- /dev/null\n+++ b/notes.txt\n@@ -0,0 +1 @@\n+patched\n"
    conversation = [
        call("c2", "write_file", {"path": "cards.py", "content": "CARDS = []\n"}), result("c2", "Wrote cards.py."),
        call("c3", "commit", {"message": "Add the card store"}), result("c3", "Committed abc."),
        call("c4", "write_file", {"path": "app/test_cards.py", "content": "import cards\n"}),
        result("c4", "Wrote app/test_cards.py (1 lines)."),
        call("c5", "write_file", {"path": "../out.txt", "content": "x"}), result("c5", "Error: leads out"),
        call("c6", "apply_patch", {"patch": patch}), result("c6", "Applied the patch to notes.txt."),
    ]  # fmt: skip
    resumed = await opened(remote, tmp_path, "attempt-2")
    await replay(resumed, conversation)
    status = await git_text("status", "--porcelain", cwd=resumed.root)
    assert sorted(status.splitlines()) == ["?? app/", "?? notes.txt"]
    assert (resumed.root / "notes.txt").read_text() == "patched\n"
    await replay(resumed, conversation)  # putting them back twice changes nothing
    assert (resumed.root / "notes.txt").read_text() == "patched\n"
    assert not (tmp_path / "work" / "out.txt").exists()


HOST_USER = 65534  # the orchestrator as a user without root's power to list any directory (make dev, USER 10001)
_SCAN = """
import json, sys
from pathlib import Path
from agentworks_orchestrator.code.workcopy import WorkingCopyError, remove_nested_repositories
try:
    print(json.dumps({"removed": remove_nested_repositories(Path(sys.argv[1]))}))
except WorkingCopyError as exc:
    print(json.dumps({"refused": str(exc)}))
"""


def as_host_user(*command: str) -> subprocess.CompletedProcess[str]:
    """``command`` run as a user who is not root (as this test when it is not root itself)."""
    prefix = ["setpriv", f"--reuid={HOST_USER}", f"--regid={HOST_USER}", "--clear-groups"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], capture_output=True, text=True, check=True, timeout=60)


@pytest.fixture
def host_copy() -> Iterator[Path]:
    """A working copy's directory the (non-root) host user owns, outside pytest's root-only temporary tree."""
    with tempfile.TemporaryDirectory(prefix="workcopy-scan-") as directory:
        root = Path(directory, "copy")
        root.mkdir()
        (root / ".git").mkdir()
        if os.geteuid() == 0:
            os.chown(directory, HOST_USER, HOST_USER)
            for path in (root, root / ".git"):
                os.chown(path, HOST_USER, HOST_USER)
        yield root


def scan_as_host_user(root: Path) -> dict[str, object]:
    answer: dict[str, object] = json.loads(as_host_user(sys.executable, "-c", _SCAN, str(root)).stdout)
    return answer


def test_a_repository_in_a_directory_a_command_left_unlistable_is_found_and_removed(host_copy: Path) -> None:
    # As a command leaves it: a nested repository with its own configuration, inside directories made 0111.
    plant = "mkdir -p h/g/.git && echo '[core]' > h/g/.git/config && echo y > h/g/f && chmod 0111 h/g h"
    as_host_user("/bin/sh", "-c", f"cd {host_copy} && {plant}")
    assert scan_as_host_user(host_copy) == {"removed": ["h/g/.git"]}
    assert (host_copy / "h" / "g" / "f").read_text() == "y\n"  # the files around it stay
    assert stat.S_IMODE((host_copy / "h").stat().st_mode) & stat.S_IRWXU == stat.S_IRWXU


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a directory of another user inside the working copy")
def test_a_directory_the_host_user_cannot_open_is_refused_not_skipped(host_copy: Path) -> None:
    locked = host_copy / "locked"
    (locked / ".git").mkdir(parents=True)
    locked.chmod(0o111)  # root's: the host user can neither list it nor change its mode
    answer = scan_as_host_user(host_copy)
    assert set(answer) == {"refused"}
    assert "cannot be listed" in str(answer["refused"])
    assert "locked" in str(answer["refused"])
    assert (locked / ".git").is_dir()


async def test_a_nested_repository_in_the_index_is_dropped_and_never_committed(
    remote: GitRemote, tmp_path: Path
) -> None:
    copy = await opened(remote, tmp_path)
    head = (await copy.git("rev-parse", "HEAD")).strip()
    # However it got there, a gitlink staged in the index would make the branch record a submodule.
    (copy.root / "sub").mkdir()
    await copy.git("update-index", "--add", "--cacheinfo", f"160000,{head},sub")
    (copy.root / "notes.md").write_text("n\n")
    with pytest.raises(WorkingCopyError, match="sub would be committed as nested repositories"):
        await copy.commit_and_push("Notes", AGENT, "run-1", "1/call_1")
    assert "160000" not in await copy.git("ls-files", "--stage")
    await copy.git("update-index", "--add", "--cacheinfo", f"160000,{head},sub")
    with pytest.raises(WorkingCopyError, match="submodules"):
        await copy.diff()
    committed = await copy.commit_and_push("Notes", AGENT, "run-1", "1/call_2")
    assert committed.made
    tree = await git_text("ls-tree", "-r", BRANCH, cwd=Path(remote.url))
    assert "notes.md" in tree
    assert "160000" not in tree
