"""A run attempt's working copy of its card's branch: cloned fresh from the project's repository into a directory
of its own, every path a tool names confined to it, and commits made as the agent, pushed without force.

A commit carries the trailers ``AgentWorks-Run`` and ``AgentWorks-Call``, and ``AgentWorks-Card`` with the card's
short id (SHOP-42) when the run's context has one; a call whose trailer is already on the branch (the step was done
before a crash, and is done again on resume) is not committed twice. When the branch moved meanwhile (a person
pushed), the run's commit is rebased onto it; a conflict is reported, nothing forced."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agentworks_repos import DEFAULT_BRANCH, GitError, GitRemote, run_git

from agentworks_orchestrator.code.git_view import CALL_TRAILER, CARD_TRAILER, RUN_TRAILER

AGENT_EMAIL = "{agent}@agents.agentworks.local"
PUSH_ATTEMPTS = 5  # pushes of one commit racing others' to the branch, each after rebasing onto the winner


class WorkingCopyError(Exception):
    """What a tool could not do in the working copy, said for the model (which may try again)."""


@dataclass(frozen=True, slots=True)
class Author:
    """Who a commit is by: the agent, named as people know it."""

    name: str
    agent: str

    @property
    def email(self) -> str:
        return AGENT_EMAIL.format(agent=self.agent.replace("_", "-"))

    @property
    def env(self) -> dict[str, str]:
        """The identity git records for the commits the agent makes (and rebases)."""
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


@dataclass(frozen=True, slots=True)
class Committed:
    """A commit of a call: its sha, and whether this call made it now (False: it was on the branch already)."""

    sha: str
    made: bool
    rebased: bool = False


@dataclass(frozen=True, slots=True)
class WorkingCopy:
    """The checkout of ``branch`` at ``root``; ``remote`` is the project's repository it was cloned from."""

    root: Path
    branch: str
    remote: GitRemote

    def path(self, relative: str) -> Path:
        """The file ``relative`` names inside the working copy; refuses anything that could lead out of it or into
        git's own files: absolute paths, ``..``, ``.git`` and symbolic links that resolve outside."""
        text = relative.strip()
        if not text or text in (".", "./"):
            return self.root
        if "\x00" in text or "\\" in text:
            raise WorkingCopyError(f"{relative!r} is not a path of the working copy.")
        pure = PurePosixPath(text)
        if pure.is_absolute():
            raise WorkingCopyError(f"{relative!r} is absolute; name files relative to the repository's root.")
        if ".." in pure.parts:
            raise WorkingCopyError(f"{relative!r} leads out of the working copy ('..' is refused).")
        if any(_is_git_name(part) for part in pure.parts):
            raise WorkingCopyError(
                "git's own files (.git/, in any case, at any depth) are not open to tools; use view_diff and commit."
            )
        root = self.root.resolve()
        resolved = (self.root / pure).resolve()
        if not resolved.is_relative_to(root):
            raise WorkingCopyError(f"{relative!r} is a symbolic link that leads out of the working copy.")
        # A committed link (``x -> .git``, ``h -> .git/hooks``) must not reach git's files either: the host runs git
        # in this directory.
        if any(_is_git_name(part) for part in resolved.relative_to(root).parts):
            raise WorkingCopyError(f"{relative!r} leads into git's own files (.git/), which are not open to tools.")
        return resolved

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root.resolve()).as_posix()

    def files(self, under: str = "") -> Iterator[str]:
        """Every file under ``under`` (git's own directory left out), sorted, as paths from the root."""
        start = self.path(under)
        if start.is_file():
            yield self.relative(start)
            return
        for directory, subdirectories, names in os.walk(start):
            # A linked directory is listed as an entry, never walked into: it may lead out of the working copy.
            links = [d for d in subdirectories if Path(directory, d).is_symlink()]
            subdirectories[:] = sorted(d for d in subdirectories if not _is_git_name(d) and d not in links)
            for name in sorted(names + links):
                yield self.relative(Path(directory, name))

    def matching(self, pattern: str, under: str = "") -> Iterator[str]:
        """The files whose path (or name, for a pattern without ``/``) matches the glob ``pattern``."""
        for relative in self.files(under):
            target = relative if "/" in pattern else relative.rsplit("/", 1)[-1]
            if fnmatch.fnmatchcase(target, pattern):
                yield relative

    async def git(self, *args: str, stdin: str | None = None) -> str:
        return await git(*args, cwd=self.root, remote=self.remote, stdin=stdin)

    async def remove_nested_repositories(self) -> list[str]:
        """Remove every ``.git`` below the top level (see :func:`remove_nested_repositories`); the paths removed."""
        return await asyncio.to_thread(remove_nested_repositories, self.root)

    async def ref(self, name: str) -> str | None:
        """The commit ``name`` points at in the working copy, None when there is no such ref."""
        result = await run_git("rev-parse", "--verify", "--quiet", name, cwd=self.root, check=False)
        return result.text.strip() if result.exit_code == 0 else None

    async def apply_patch(self, patch: str) -> list[str]:
        """Apply a unified diff: every path it names is confined first, then ``git apply --check`` and
        ``git apply``; returns the paths it changed."""
        if not patch.endswith("\n"):
            patch += "\n"
        await self.remove_nested_repositories()
        try:
            numstat = await self.git("apply", "--numstat", "-z", "-", stdin=patch)
        except GitError as exc:
            raise WorkingCopyError(f"The patch is not a unified diff git can read: {brief(exc)}") from None
        paths = list(_numstat_paths(numstat))
        for path in paths:
            self.path(path)
        try:
            await self.git("apply", "--check", "--whitespace=nowarn", "-", stdin=patch)
        except GitError as exc:
            raise WorkingCopyError(f"The patch does not apply: {brief(exc)}") from None
        await self.git("apply", "--whitespace=nowarn", "-", stdin=patch)
        return paths

    async def diff(self) -> str:
        """The branch as it is in the working copy (commits and uncommitted changes, new files included) against
        the default branch."""
        await self.remove_nested_repositories()
        await self.git("add", "--all", "--intent-to-add")
        await self._refuse_gitlinks()
        base = (await self.git("merge-base", f"origin/{DEFAULT_BRANCH}", "HEAD")).strip()
        return await self.git("diff", "--no-color", "--no-ext-diff", "--ignore-submodules=all", base)

    async def commit_and_push(self, message: str, author: Author, run_id: str, call: str, card: str = "") -> Committed:
        """Commit every change as ``author`` for the card whose short id is ``card`` (no card trailer when empty)
        and push it; a call of this run already committed on the branch is not again."""
        await self.remove_nested_repositories()
        await self._fetch()
        earlier = await self._commit_of(run_id, call)
        if earlier is not None:
            return Committed(earlier, made=False)
        await self.git("add", "--all")
        await self._refuse_gitlinks()
        if not (await self.git("status", "--porcelain", "--ignore-submodules=all")).strip():
            raise WorkingCopyError("There is nothing to commit: the working copy has no change since the last commit.")
        trailers = f"{RUN_TRAILER}: {run_id}\n{CALL_TRAILER}: {call}" + (f"\n{CARD_TRAILER}: {card}" if card else "")
        message = f"{message.strip()}\n\n{trailers}\n"
        await git("commit", "--quiet", "--no-verify", "--file", "-", cwd=self.root, stdin=message, env=author.env)
        rebased = await self._push(author)
        return Committed((await self.git("rev-parse", "HEAD")).strip(), made=True, rebased=rebased)

    async def _refuse_gitlinks(self) -> None:
        """Drop from the index every gitlink (a nested repository recorded as a submodule) the branch does not
        already hold, and refuse: git would step into that directory, and its configuration, on the host."""
        added = _gitlinks(await self.git("ls-files", "--stage", "-z")) - _gitlinks(
            await self.git("ls-tree", "-r", "-z", "--full-tree", "HEAD")
        )
        if not added:
            return
        paths = sorted(path for path, _ in added)
        await self.git("rm", "--cached", "--quiet", "-r", "--", *paths)
        raise WorkingCopyError(
            f"{', '.join(paths)} would be committed as nested repositories (submodules), which are not supported; "
            "they were left out of the index. Remove their .git or commit their files another way."
        )

    async def _fetch(self) -> None:
        """The branch as the repository holds it now (absent until the first push of a new branch)."""
        if self.branch in await _heads(self.remote):
            await self.git("fetch", "--quiet", "origin", f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}")

    async def _commit_of(self, run_id: str, call: str) -> str | None:
        """The commit on the branch (as fetched) this run made for ``call`` (its two trailers), if there is one."""
        if await self.ref(f"refs/remotes/origin/{self.branch}") is None:
            return None
        trailers = ",".join(f"%(trailers:key={key},valueonly,separator=%x2C)" for key in (RUN_TRAILER, CALL_TRAILER))
        lines = await self.git("log", f"refs/remotes/origin/{self.branch}", "-z", f"--format=%H,{trailers}")
        for entry in lines.split("\x00"):
            sha, _, values = entry.strip().partition(",")
            if run_id in values.split(",") and call in [value.strip() for value in values.split(",")]:
                return sha
        return None

    async def _push(self, author: Author) -> bool:
        """Push without force; when the branch moved meanwhile, rebase this commit onto it and push again (True).
        A conflict leaves the working copy on the branch's new head with the changes over it, marked."""
        rebased = False
        for _ in range(PUSH_ATTEMPTS - 1):
            try:
                await self.git("push", "--quiet", "origin", f"HEAD:refs/heads/{self.branch}")
                return rebased
            except GitError as exc:
                if not _rejected(exc):
                    raise WorkingCopyError(f"The push failed: {brief(exc)}") from None
            await self._rebase(author)
            rebased = True
        await self.git("push", "--quiet", "origin", f"HEAD:refs/heads/{self.branch}")
        return rebased

    async def _rebase(self, author: Author) -> None:
        await self._fetch()
        try:
            await git("rebase", "--quiet", f"origin/{self.branch}", cwd=self.root, env=author.env)
        except GitError:
            conflicted = await self._conflicted()
            await self.git("rebase", "--abort")
            await self._carry_over(conflicted, author)
            raise WorkingCopyError(
                "The branch moved meanwhile (someone pushed) and your changes conflict with it in "
                f"{', '.join(conflicted) or 'some files'}. Nothing was committed: the working copy is now on the "
                "branch's new head with your changes over it and conflict markers in those files; resolve them "
                "and commit again."
            ) from None

    async def _conflicted(self) -> list[str]:
        listed = await self.git("diff", "--name-only", "--diff-filter=U")
        return [line for line in listed.splitlines() if line]

    async def _carry_over(self, conflicted: list[str], author: Author) -> None:
        """Undo the local commit, move to the branch's head and put the changes back over it (markers where they
        conflict), so the model can resolve and commit again."""
        await self.git("reset", "--soft", "HEAD~1")
        await git("stash", "push", "--quiet", "--include-untracked", cwd=self.root, env=author.env)
        await self.git("reset", "--quiet", "--hard", f"origin/{self.branch}")
        try:
            await self.git("stash", "pop", "--quiet")
        except GitError:
            if not conflicted:
                raise


async def git(
    *args: str,
    cwd: Path | None,
    remote: GitRemote | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """The text git answers (raises ``GitError`` on a non-zero exit)."""
    result = await run_git(*args, cwd=cwd, remote=remote, stdin=None if stdin is None else stdin.encode(), env=env)
    return result.text


def brief(exc: GitError) -> str:
    """git's own explanation of a failure, short enough for a model."""
    lines = [line.strip() for line in exc.stderr.splitlines() if line.strip()]
    return " ".join(lines)[:600] or f"git exited {exc.exit_code}"


async def open_working_copy(remote: GitRemote, directory: Path, branch: str) -> WorkingCopy:
    """Clone the card's ``branch`` into ``directory`` (a fresh one for each attempt); a branch the repository does
    not hold yet starts from the default branch and is pushed at its first commit."""
    directory = await asyncio.to_thread(_fresh, directory)
    existing = branch in await _heads(remote)
    source = branch if existing else DEFAULT_BRANCH
    await git("clone", "--quiet", "--branch", source, remote.url, str(directory), cwd=directory.parent, remote=remote)
    copy = WorkingCopy(directory, branch, remote)
    if not existing:
        await copy.git("checkout", "--quiet", "-b", branch)
    return copy


def _fresh(directory: Path) -> Path:
    """An empty place for the clone, named absolutely: git runs in its parent, and a relative directory (a fleet's
    relative data directory) would be cloned below itself, leaving the working copy with neither files nor git."""
    directory = directory.absolute()
    shutil.rmtree(directory, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    return directory


def remove_nested_repositories(root: Path) -> list[str]:
    """Remove every entry named ``.git`` in any case (a directory, a ``gitdir:`` file, a link) below the working
    copy's own ``.git``, and any other spelling of it at the top; the paths removed, sorted.

    The host runs git in the working copy, and git steps into a nested repository (a gitlink's dirtiness check runs
    ``git status`` there), reading that repository's configuration: a filter or an fsmonitor a sandboxed command
    wrote would run on the host. A ``.git`` file would point git at any repository of the host. An agent may not
    commit a nested repository, and submodules are not supported, so it goes; the files around it stay."""
    open_directories(root)
    removed: list[str] = []
    for directory, subdirectories, names in os.walk(root, followlinks=False, onerror=_unlisted):
        top = directory == str(root)
        for name in [*subdirectories, *names]:
            if not _is_git_name(name) or (top and name == ".git"):
                continue
            path = Path(directory, name)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.relative_to(root).as_posix())
        # Never walked into: the top level's own .git (git's), and whatever was just removed.
        subdirectories[:] = [name for name in subdirectories if not _is_git_name(name)]
    return sorted(removed)


def open_directories(root: Path) -> None:
    """Make every directory of the working copy readable and searchable by its owner, top-down, never following a
    link: a command may leave a directory it cannot be listed (mode 0111), and a scan that cannot list a directory
    would miss a nested repository inside it. The working copy is the host user's once a command has ended."""
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        mode = os.lstat(directory).st_mode
        if not stat.S_ISDIR(mode):
            continue
        try:
            if mode & stat.S_IRWXU != stat.S_IRWXU:
                os.chmod(directory, stat.S_IMODE(mode) | stat.S_IRWXU)
            with os.scandir(directory) as entries:
                pending.extend(entry.path for entry in entries if entry.is_dir(follow_symlinks=False))
        except OSError:  # not the host user's to open: the scan that follows refuses it
            continue


def _unlisted(error: OSError) -> None:
    """A directory the scan for nested repositories cannot list: refuse rather than skip what it may hide."""
    raise WorkingCopyError(
        f"The working copy holds a directory that cannot be listed ({error.filename}: {error.strerror}); "
        "nothing was done with git. Make it readable (chmod u+rwx) or remove it, then try again."
    ) from error


def _is_git_name(name: str) -> bool:
    """Whether a path's component names a git directory on some file system (``.git``, ``.GIT``, ``.Git``…)."""
    return name.lower() == ".git"


def remove_working_copy(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


async def _heads(remote: GitRemote) -> list[str]:
    listed = await git("ls-remote", "--heads", remote.url, cwd=None, remote=remote)
    return [line.split("\trefs/heads/", 1)[1] for line in listed.splitlines() if "\trefs/heads/" in line]


def _gitlinks(listing: str) -> set[tuple[str, str]]:
    """The (path, commit) of every gitlink (mode 160000) in ``git ls-files --stage -z`` or ``git ls-tree -r -z``
    output: ``mode sha stage\tpath`` or ``mode type sha\tpath``."""
    links: set[tuple[str, str]] = set()
    for entry in listing.split("\x00"):
        fields, _, path = entry.partition("\t")
        parts = fields.split()
        if parts and parts[0] == "160000":
            sha = next(part for part in parts[1:] if len(part) >= 40)
            links.add((path, sha))
    return links


def _rejected(exc: GitError) -> bool:
    """Whether the push lost to another: refused as not a fast-forward, or (the two racing inside the repository)
    its ref moved while the push was on the way."""
    return bool(re.search(r"\[rejected\]|non-fast-forward|fetch first|failed to update ref", exc.stderr))


def _numstat_paths(numstat: str) -> Iterator[str]:
    """The paths of ``git apply --numstat -z``: ``added\\tdeleted\\tpath\\0``, or for a rename
    ``added\\tdeleted\\t\\0from\\0to\\0``."""
    parts = numstat.split("\x00")
    index = 0
    while index < len(parts) and parts[index]:
        fields = parts[index].split("\t", 2)
        if len(fields) == 3 and fields[2]:
            yield fields[2]
            index += 1
        else:
            yield from parts[index + 1 : index + 3]
            index += 3
