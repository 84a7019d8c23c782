"""What the code views read from a local repository (bare or a mirror), each one git command: branches, trees,
files, commits, changed files, the diff, whether a branch merges cleanly, and zip archives."""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

from agentworks_repos import GitError, git_env, git_text, run_git
from agentworks_repos.git import NO_HOOKS

RUN_TRAILER = "AgentWorks-Run"
CALL_TRAILER = "AgentWorks-Call"
CARD_TRAILER = "AgentWorks-Card"
# The characters ``git check-ref-format`` refuses anywhere in a ref: controls, space, DEL and ``~^:?*[\``.
REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
ARCHIVE_CHUNK = 64 * 1024
REF_MAX_BYTES = 255  # a loose ref is a file: longer names cannot be stored, so none exists
# The names the API documents (its OpenAPI pattern): ASCII parts of the characters branch and tag names use, joined
# by single dots and slashes, not starting with '-' or '@'. ``ref_problem`` is what is enforced: a name git accepts
# outside this pattern is served too, and one of the pattern's that git refuses (a part ending in ".lock") is a 400.
_REF_PART = "[A-Za-z0-9_+=,@#%!-]+(?:[.][A-Za-z0-9_+=,@#%!-]+)*"
REF_PATTERN = f"^[A-Za-z0-9_+=,#%!](?:[A-Za-z0-9_+=,@#%!-]*(?:[.][A-Za-z0-9_+=,@#%!-]+)*)(?:/{_REF_PART})*$"
FIELD, RECORD = "\x1f", "\x1e"
STATUS_NAMES = {"A": "added", "M": "modified", "D": "deleted", "T": "typechange"}
EntryType = Literal["dir", "file", "symlink", "submodule"]


@dataclass(frozen=True, slots=True)
class Branch:
    name: str
    sha: str


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    path: str
    type: EntryType
    size: int | None


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    message: str
    author: str
    run_id: str | None
    committed_at: datetime
    card: str | None = None


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    status: str
    additions: int | None
    deletions: int | None


def ref_problem(ref: str) -> str | None:
    """Why git would refuse ``ref`` as a branch, tag or commit name (``git check-ref-format --allow-onelevel``), or
    None when it is well formed. A ref is never option-like either (a leading ``-``), so it can never reach git as an
    option."""
    if not ref:
        return "it is empty"
    if len(ref.encode()) > REF_MAX_BYTES:
        return f"it is longer than {REF_MAX_BYTES} bytes"
    if ref.startswith("-"):
        return "it starts with '-'"
    if REF_FORBIDDEN.search(ref):
        return "it holds a control character, a space or one of ~ ^ : ? * [ \\"
    if ".." in ref or "@{" in ref or ref == "@":
        return "it holds '..' or '@{', or is '@'"
    if ref.startswith("/") or ref.endswith(("/", ".")) or "//" in ref:
        return "it starts or ends with '/', ends with '.' or holds '//'"
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "a part of it starts with '.' or ends with '.lock'"
    return None


def valid_ref(ref: str) -> bool:
    return ref_problem(ref) is None


def clean_path(path: str) -> str | None:
    """A repository path without leading or trailing slashes; None when it climbs (``..``) or is odd."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or "\x00" in p or ":" in p for p in parts):
        return None
    return "/".join(parts)


async def commit_of(repo: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or None when it names none."""
    if not valid_ref(ref):
        return None
    result = await run_git(
        "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", cwd=repo, check=False
    )
    return result.text.strip() if result.exit_code == 0 else None


async def branches(repo: Path) -> list[Branch]:
    listing = await git_text("for-each-ref", f"--format=%(refname:short){FIELD}%(objectname)", "refs/heads", cwd=repo)
    return [Branch(*line.split(FIELD)) for line in listing.splitlines() if line]


async def ahead_behind(repo: Path, base: str, head: str) -> tuple[int, int]:
    """Commits ``head`` has that ``base`` lacks, and the reverse."""
    behind, ahead = (await git_text("rev-list", "--left-right", "--count", f"{base}...{head}", cwd=repo)).split()
    return int(ahead), int(behind)


async def object_type(repo: Path, commit: str, path: str) -> str | None:
    result = await run_git("cat-file", "-t", f"{commit}:{path}", cwd=repo, check=False)
    return result.text.strip() if result.exit_code == 0 else None


async def tree(repo: Path, commit: str, path: str) -> list[Entry]:
    """The entries of directory ``path`` at ``commit``: directories first, then by name."""
    listing = (await run_git("ls-tree", "-l", "-z", f"{commit}:{path}", cwd=repo)).stdout.decode(errors="replace")
    entries = []
    for record in filter(None, listing.split("\x00")):
        meta, name = record.split("\t", 1)
        mode, kind, _sha, size = meta.split()
        entry_type: EntryType = (
            "dir" if kind == "tree" else "submodule" if kind == "commit" else "symlink" if mode == "120000" else "file"
        )
        full = f"{path}/{name}" if path else name
        entries.append(Entry(name, full, entry_type, int(size) if size.isdigit() else None))
    return sorted(entries, key=lambda e: (e.type != "dir", e.name))


async def blob(repo: Path, commit: str, path: str) -> bytes:
    return (await run_git("cat-file", "blob", f"{commit}:{path}", cwd=repo)).stdout


async def commits(repo: Path, revisions: str, limit: int = 200) -> list[Commit]:
    """The commits of ``revisions`` (e.g. ``main..card/x``), newest first, with their run and card trailers (either
    absent from older commits and people's)."""
    trailers = [f"%(trailers:key={key},valueonly,separator=%x2C)" for key in (RUN_TRAILER, CARD_TRAILER)]
    fmt = FIELD.join(["%H", "%an", "%cI", *trailers, "%B"]) + RECORD
    listing = await git_text("log", f"--max-count={limit}", f"--format={fmt}", revisions, cwd=repo)
    found = []
    for record in filter(None, (r.strip("\n") for r in listing.split(RECORD))):
        sha, author, when, run, card, message = record.split(FIELD, 5)
        found.append(Commit(sha, message.strip(), author, _first(run), datetime.fromisoformat(when), _first(card)))
    return found


def _first(values: str) -> str | None:
    """The first value of a trailer git listed (comma-separated), None when the commit has none."""
    return values.strip().split(",")[0].strip() or None


async def changed_files(repo: Path, base: str, head: str) -> list[ChangedFile]:
    """The files ``head`` changed since it left ``base`` (three-dot), with added and deleted lines (None when
    binary)."""
    span = f"{base}...{head}"
    status = (await run_git("diff", "--no-renames", "--name-status", "-z", span, cwd=repo)).stdout.decode()
    numstat = (await run_git("diff", "--no-renames", "--numstat", "-z", span, cwd=repo)).stdout.decode()
    counts: dict[str, tuple[int | None, int | None]] = {}
    for record in filter(None, numstat.split("\x00")):
        added, deleted, path = record.split("\t", 2)
        counts[path] = (int(added) if added.isdigit() else None, int(deleted) if deleted.isdigit() else None)
    fields = [f for f in status.split("\x00") if f]
    files = []
    for code, path in zip(fields[::2], fields[1::2], strict=True):
        additions, deletions = counts.get(path, (None, None))
        files.append(ChangedFile(path, STATUS_NAMES.get(code[0], "modified"), additions, deletions))
    return files


async def diff_text(repo: Path, base: str, head: str, limit: int) -> tuple[str, bool]:
    """The unified diff of ``head`` since it left ``base``, cut at a line within ``limit`` bytes (then True)."""
    raw = (await run_git("diff", "--no-color", "--no-renames", "--no-ext-diff", f"{base}...{head}", cwd=repo)).stdout
    if len(raw) <= limit:
        return raw.decode(errors="replace"), False
    cut = raw.rfind(b"\n", 0, limit)
    return raw[: cut + 1 if cut >= 0 else limit].decode(errors="replace"), True


async def conflicts(repo: Path, base: str, head: str) -> list[str] | None:
    """The files merging ``head`` into ``base`` would conflict in (empty when it merges cleanly), computed
    without a working copy; None when the two share no history."""
    result = await run_git(
        "merge-tree", "--write-tree", "--name-only", "--no-messages", base, head, cwd=repo, check=False
    )
    if result.exit_code == 0:
        return []
    if result.exit_code == 1:
        return sorted(set(result.text.splitlines()[1:]) - {""})
    return None


async def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    result = await run_git("merge-base", "--is-ancestor", ancestor, descendant, cwd=repo, check=False)
    return result.exit_code == 0


async def archive(repo: Path, commit: str) -> AsyncIterator[bytes]:
    """``git archive --format=zip`` of ``commit``. git writes it to an unnamed temporary file first, so its exit
    status is known before any answer starts: a failure (an object the repository lost) raises :class:`GitError`,
    to be answered as an error, never as a 200 with an empty or cut zip. The file is then streamed and closed."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the stream, which closes it
    try:
        process = await asyncio.create_subprocess_exec(
            "git", *NO_HOOKS, "archive", "--format=zip", commit,
            cwd=repo, env=git_env(), stdin=asyncio.subprocess.DEVNULL, stdout=spool, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            _, stderr = await process.communicate()
        finally:
            if process.returncode is None:  # cancelled: git goes too
                process.kill()
                await process.wait()
        if process.returncode != 0:
            raise GitError(["archive", commit], process.returncode or -1, stderr.decode("utf-8", errors="replace"))
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return _streamed(spool)


async def _streamed(spool: IO[bytes]) -> AsyncIterator[bytes]:
    with spool:
        while chunk := await asyncio.to_thread(spool.read, ARCHIVE_CHUNK):
            yield chunk
