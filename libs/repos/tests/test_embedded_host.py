"""The embedded repository host: bare repositories with ``main`` and an initial commit, made once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from agentworks_repos import (
    DEFAULT_BRANCH,
    DEFAULT_MAX_PUSH_BYTES,
    GitError,
    LocalRepositoryHost,
    RepositoryHost,
    git_text,
    run_git,
)

IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")


@pytest.fixture
def host(tmp_path: Path) -> LocalRepositoryHost:
    return LocalRepositoryHost(tmp_path / "repos")


async def test_ensure_creates_a_bare_repository_with_main_holding_an_initial_commit(
    host: LocalRepositoryHost, tmp_path: Path
) -> None:
    project = uuid.uuid4()
    port: RepositoryHost = host
    remote = await port.ensure(project)
    assert remote.url == str((tmp_path / "repos" / f"{project}.git").resolve())
    assert remote.auth_header is None
    assert await git_text("rev-parse", "--is-bare-repository", cwd=Path(remote.url)) == "true"
    assert await git_text("symbolic-ref", "HEAD", cwd=Path(remote.url)) == f"refs/heads/{DEFAULT_BRANCH}"
    assert await git_text("ls-tree", "--name-only", "main", cwd=Path(remote.url)) == "README.md"
    assert await git_text("log", "--format=%an %s", "main", cwd=Path(remote.url)) == "AgentWorks Initial commit"


async def test_ensure_is_idempotent_even_when_called_at_once(host: LocalRepositoryHost) -> None:
    project = uuid.uuid4()
    remotes = await asyncio.gather(*(host.ensure(project) for _ in range(5)))
    first = await git_text("rev-parse", "main", cwd=Path(remotes[0].url))
    await host.ensure(project)
    assert {r.url for r in remotes} == {remotes[0].url}
    assert await git_text("rev-parse", "main", cwd=Path(remotes[0].url)) == first
    assert await git_text("rev-list", "--count", "main", cwd=Path(remotes[0].url)) == "1"
    assert [p.name for p in host.root.iterdir()] == [f"{project}.git"]  # no temporary left behind


async def test_remote_names_the_repository_without_creating_it(host: LocalRepositoryHost) -> None:
    project = uuid.uuid4()
    remote = await host.remote(project)
    assert not await host.exists(project)
    assert remote == await host.ensure(project)
    assert await host.exists(project)


async def test_a_clone_can_push_a_branch_but_never_rewrite_or_delete_one(
    host: LocalRepositoryHost, tmp_path: Path
) -> None:
    remote = await host.ensure(uuid.uuid4())
    work = tmp_path / "work"
    await run_git("clone", "--quiet", remote.url, str(work))
    identity = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")
    (work / "app.py").write_text("print('hi')\n")
    await run_git("add", "app.py", cwd=work)
    await run_git(*identity, "commit", "--quiet", "-m", "Add app", cwd=work)
    await run_git("push", "--quiet", "origin", "HEAD:refs/heads/card/app-12345678", cwd=work)
    await run_git(*identity, "commit", "--quiet", "--amend", "-m", "Rewritten", cwd=work)
    with pytest.raises(GitError, match="non-fast-forward"):
        await run_git("push", "--force", "origin", "HEAD:refs/heads/card/app-12345678", cwd=work)
    with pytest.raises(GitError, match="deletion prohibited"):
        await run_git("push", "origin", ":refs/heads/card/app-12345678", cwd=work)
    await run_git("checkout", "--quiet", "--orphan", "unrelated", cwd=work)
    await run_git(*identity, "commit", "--quiet", "-m", "Unrelated history", cwd=work)
    with pytest.raises(GitError, match="non-fast-forward"):
        await run_git("push", "--force", "origin", "HEAD:refs/heads/main", cwd=work)


def test_project_ids_must_be_uuids(host: LocalRepositoryHost) -> None:
    with pytest.raises(ValueError, match="badly formed"):
        host.path_of("../../etc")  # type: ignore[arg-type]


async def _clone(host: LocalRepositoryHost, work: Path) -> Path:
    remote = await host.ensure(uuid.uuid4())
    await run_git("clone", "--quiet", remote.url, str(work))
    return work


async def _commit_of_tree(work: Path, entry: bytes) -> str:
    """A commit whose tree holds the one raw ``entry`` (``<mode> <name>``) pointing at an empty blob (an empty tree
    for a directory's mode), written as is (``hash-object --literally``): what git's own commands never write."""
    kind = "tree" if entry.lstrip(b"0").startswith(b"40000 ") else "blob"
    target = await git_text("hash-object", "-t", kind, "-w", "--stdin", cwd=work)
    raw = entry + b"\x00" + bytes.fromhex(target)
    tree = (await run_git("hash-object", "--literally", "-t", "tree", "-w", "--stdin", cwd=work, stdin=raw)).text
    return await git_text(*IDENTITY, "commit-tree", tree.strip(), "-m", "Odd tree", cwd=work)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (b"100644 ..", "hasDotdot"),
        (b"100644 .git", "hasDotgit"),
        (b"100644 .GIT", "hasDotgit"),
        (b"040000 lib", "zeroPaddedFilemode"),
        (b"100644 a/b", "fullPathname"),
    ],
)
async def test_a_push_with_a_corrupt_object_is_refused_by_fsck_and_lands_nothing(
    host: LocalRepositoryHost, tmp_path: Path, entry: bytes, why: str
) -> None:
    work = await _clone(host, tmp_path / "work")
    commit = await _commit_of_tree(work, entry)
    pushed = await run_git("push", "origin", f"{commit}:refs/heads/odd", cwd=work, check=False)
    assert pushed.exit_code != 0
    assert why in pushed.stderr.decode()
    assert await git_text("ls-remote", "--heads", "origin", cwd=work) == (
        await git_text("ls-remote", "--heads", "origin", "main", cwd=work)
    )


def test_receive_env_carries_the_rules_and_the_size_limit_to_a_receive_pack(tmp_path: Path) -> None:
    host = LocalRepositoryHost(tmp_path, max_push_bytes=2_000_000)
    assert LocalRepositoryHost(tmp_path).max_push_bytes == DEFAULT_MAX_PUSH_BYTES == 512 * 1024 * 1024
    env = host.receive_env()
    pairs = {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))}
    assert pairs == {
        "receive.denyNonFastForwards": "true",
        "receive.denyDeletes": "true",
        "receive.fsckObjects": "true",
        "receive.maxInputSize": "2000000",
    }


async def test_delete_removes_the_repository_and_is_harmless_when_repeated(host: LocalRepositoryHost) -> None:
    project, kept = uuid.uuid4(), uuid.uuid4()
    await host.ensure(project)
    await host.ensure(kept)
    port: RepositoryHost = host
    await port.delete(project)
    assert not await host.exists(project)
    await port.delete(project)
    await port.delete(uuid.uuid4())  # never made
    assert sorted(p.name for p in host.root.iterdir()) == [f"{kept}.git"]
    assert await host.exists(kept)


async def test_delete_finishes_what_a_crash_left_renamed_away(host: LocalRepositoryHost) -> None:
    project = uuid.uuid4()
    target = Path((await host.ensure(project)).url)
    # The crash came between the rename and the removal.
    await asyncio.to_thread(target.rename, target.with_name(f".{target.name}.deleted"))
    await host.delete(project)
    assert await asyncio.to_thread(lambda: list(host.root.iterdir())) == []
