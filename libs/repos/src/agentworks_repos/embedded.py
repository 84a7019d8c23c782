"""The embedded repository host: bare repositories in a directory of the fleet's data."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

from agentworks_repos.git import git_text, run_git
from agentworks_repos.remote import GitRemote

DEFAULT_BRANCH = "main"
INITIAL_README = b"# Project repository\n\nEach card that reaches a build lane works on its own branch (`card/...`).\n"
FLEET_IDENTITY = {
    "GIT_AUTHOR_NAME": "AgentWorks",
    "GIT_AUTHOR_EMAIL": "agentworks@users.noreply.agentworks.dev",
    "GIT_COMMITTER_NAME": "AgentWorks",
    "GIT_COMMITTER_EMAIL": "agentworks@users.noreply.agentworks.dev",
}
# Nothing is ever force-pushed or deleted on a hosted repository, whoever pushes.
RECEIVE_RULES = (("receive.denyNonFastForwards", "true"), ("receive.denyDeletes", "true"))


class LocalRepositoryHost:
    """``<root>/<project_id>.git``; the remote's URL is that path."""

    kind = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = asyncio.Lock()

    def path_of(self, project_id: uuid.UUID) -> Path:
        return self.root / f"{uuid.UUID(str(project_id))}.git"

    async def remote(self, project_id: uuid.UUID) -> GitRemote:
        return GitRemote(str(self.path_of(project_id).resolve()))

    async def exists(self, project_id: uuid.UUID) -> bool:
        return (self.path_of(project_id) / "HEAD").is_file()

    async def ensure(self, project_id: uuid.UUID) -> GitRemote:
        target = self.path_of(project_id)
        if not (target / "HEAD").is_file():
            async with self._lock:
                if not (target / "HEAD").is_file():
                    await self._create(target)
        return await self.remote(project_id)

    async def _create(self, target: Path) -> None:
        # Built beside its final name and renamed into place: a crash leaves a stray directory, never half a
        # repository under the project's name.
        target.parent.mkdir(parents=True, exist_ok=True)
        building = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            await run_git("init", "--quiet", "--bare", f"--initial-branch={DEFAULT_BRANCH}", str(building))
            await initialise_bare(building)
            try:
                building.rename(target)
            except OSError:
                if not (target / "HEAD").is_file():
                    raise
        finally:
            if building.exists():
                await asyncio.to_thread(shutil.rmtree, building, True)


async def initialise_bare(repository: Path) -> None:
    """Give a fresh bare repository its rules and a first commit (a README) on the default branch."""
    for key, value in RECEIVE_RULES:
        await run_git("config", key, value, cwd=repository)
    blob = (await run_git("hash-object", "-w", "--stdin", cwd=repository, stdin=INITIAL_README)).text.strip()
    tree = (await run_git("mktree", cwd=repository, stdin=f"100644 blob {blob}\tREADME.md\n".encode())).text.strip()
    commit = (
        await run_git("commit-tree", tree, "-m", "Initial commit", cwd=repository, env=FLEET_IDENTITY)
    ).text.strip()
    await git_text("update-ref", f"refs/heads/{DEFAULT_BRANCH}", commit, "", cwd=repository)
