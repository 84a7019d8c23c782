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
DEFAULT_MAX_PUSH_BYTES = 512 * 1024 * 1024
# Nothing is ever force-pushed or deleted on a hosted repository, whoever pushes, and every object pushed is checked
# (fsck, warnings as errors: a tree entry named ``..`` or ``.git``, a malformed mode or commit) before any lands.
RECEIVE_RULES = (
    ("receive.denyNonFastForwards", "true"),
    ("receive.denyDeletes", "true"),
    ("receive.fsckObjects", "true"),
)


def receive_env(max_push_bytes: int) -> dict[str, str]:
    """Configuration for a ``git receive-pack`` (as ``GIT_CONFIG_*`` variables, above any repository's own file):
    the receive rules, and a pack larger than ``max_push_bytes`` refused while it arrives."""
    rules = (*RECEIVE_RULES, ("receive.maxInputSize", str(max_push_bytes)))
    env = {"GIT_CONFIG_COUNT": str(len(rules))}
    for index, (key, value) in enumerate(rules):
        env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
    return env


class LocalRepositoryHost:
    """``<root>/<project_id>.git``; the remote's URL is that path. People's pushes (``git http-backend``) run with
    :meth:`receive_env`: fsck on every object and packs of at most ``max_push_bytes``."""

    kind = "embedded"

    def __init__(self, root: Path, *, max_push_bytes: int = DEFAULT_MAX_PUSH_BYTES) -> None:
        self.root = root
        self.max_push_bytes = max_push_bytes
        self._lock = asyncio.Lock()

    def receive_env(self) -> dict[str, str]:
        return receive_env(self.max_push_bytes)

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

    async def delete(self, project_id: uuid.UUID) -> None:
        """Remove the project's repository; nothing to do when there is none (idempotent). It is renamed away
        first, so the project's name never holds half a repository, and a stray left by a crash is removed by the
        next call."""
        target = self.path_of(project_id)
        async with self._lock:
            doomed = target.with_name(f".{target.name}.deleted")
            if target.exists():
                await asyncio.to_thread(shutil.rmtree, doomed, True)
                target.rename(doomed)
            await asyncio.to_thread(shutil.rmtree, doomed, True)

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
