"""The embedded repository host: bare repositories with ``main`` and an initial commit, made once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from agentworks_repos import DEFAULT_BRANCH, GitError, LocalRepositoryHost, RepositoryHost, git_text, run_git


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
