"""The code tools of the build, review and test roles: files of the run's working copy (list, read, search, write,
patch), its diff against the default branch, a commit, and commands run in the sandbox. Each answers the model at
once; none is an effect for core (the repository and the command runs are the orchestrator's own)."""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

from agentworks_events.runs import TOOL_RESULT_MAX
from agentworks_repos import GitError
from agentworks_sandbox import CommandResult, SandboxFailure, SandboxUnavailable
from pydantic import Field

from agentworks_orchestrator.code.workcopy import WorkingCopy, WorkingCopyError, brief
from agentworks_orchestrator.code.workspace import CodeWorkspace, CommandRun
from agentworks_orchestrator.runs.contract import ModelText
from agentworks_orchestrator.runs.tools import (
    Action,
    NoArguments,
    Tool,
    ToolContext,
    ToolError,
    ToolOutcome,
    _Arguments,
)

LISTED_MAX = 500
READ_LINES_MAX = 400
ANSWER_MAX = TOOL_RESULT_MAX - 500  # room for the header of an answer within what a tool result keeps
SEARCH_MATCHES_MAX = 100
OUTPUT_TAIL_SHOWN = 4000
FILE_MAX = 200_000
READ_BYTES_MAX = 1 << 20  # what one read_file takes from disk: a huge file is never read whole into memory
SEARCH_FILE_BYTES_MAX = 4 << 20  # a file larger than this is skipped by search_files, which says so
RelativePath = Annotated[str, Field(max_length=1_000, description="A path relative to the repository's root.")]


class ListFilesIn(_Arguments):
    path: RelativePath = ""


class ReadFileIn(_Arguments):
    path: RelativePath
    start_line: int = Field(default=1, ge=1, description="The first line to read (from 1).")
    end_line: int | None = Field(default=None, ge=1, description=f"The last line; at most {READ_LINES_MAX} a call.")


class SearchFilesIn(_Arguments):
    pattern: Annotated[str, Field(min_length=1, max_length=200, description="A glob of paths, e.g. *.py or src/*.")]
    contains: Annotated[str, Field(max_length=200, description="Text the lines must contain (none: any file).")] = ""
    path: RelativePath = ""


class WriteFileIn(_Arguments):
    path: RelativePath
    content: Annotated[ModelText, Field(max_length=FILE_MAX, description="The whole new content of the file.")]


class PatchIn(_Arguments):
    patch: Annotated[ModelText, Field(min_length=1, max_length=FILE_MAX, description="A unified diff (git diff).")]


class CommitIn(_Arguments):
    message: Annotated[ModelText, Field(min_length=1, max_length=2_000, description="The commit message.")]


class CommandIn(_Arguments):
    command: Annotated[
        str, Field(min_length=1, max_length=4_000, description="A shell command, run in the repository's root.")
    ]


def _workspace(context: ToolContext) -> CodeWorkspace:
    if context.code is None:
        raise ToolError("This run has no working copy.")
    return context.code


async def _list_files(context: ToolContext, arguments: ListFilesIn) -> ToolOutcome:
    copy = _workspace(context).copy
    try:
        listed = list(islice(copy.files(arguments.path), LISTED_MAX + 1))
    except (WorkingCopyError, FileNotFoundError, NotADirectoryError) as exc:
        raise ToolError(_said(exc, arguments.path)) from None
    if not listed:
        return ToolOutcome(f"No files under {arguments.path or 'the root'}.")
    more = f"\n… more than {LISTED_MAX} files; list a directory." if len(listed) > LISTED_MAX else ""
    return ToolOutcome(_bounded("\n".join(listed[:LISTED_MAX])) + more)


async def _read_file(context: ToolContext, arguments: ReadFileIn) -> ToolOutcome:
    copy = _workspace(context).copy
    try:
        path = copy.path(arguments.path)
        lines, size = await asyncio.to_thread(_head_lines, path, arguments.path)
    except WorkingCopyError as exc:
        raise ToolError(str(exc)) from None
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ToolError(f"There is no file {arguments.path!r}; list_files names the files.") from None
    except UnicodeDecodeError:
        raise ToolError(f"{arguments.path!r} is not a text file.") from None
    partial = size > READ_BYTES_MAX
    start = arguments.start_line
    end = min(arguments.end_line or len(lines), len(lines), start + READ_LINES_MAX - 1)
    if partial and (not lines or start > len(lines)):
        raise ToolError(
            f"{arguments.path!r} is too large ({size} bytes): read_file reads only its first MiB "
            f"({len(lines)} whole lines); read a line range within them, or use run_command (sed -n) for the rest."
        )
    if lines and start > len(lines):
        raise ToolError(f"{arguments.path!r} has {len(lines)} lines; start_line is past its end.")
    shown = "\n".join(lines[start - 1 : end])
    cut = _bounded(shown)
    total = f"the first {len(lines)} of a file of {size} bytes, too large to read whole" if partial else len(lines)
    header = f"{arguments.path} (lines {start}–{end} of {total})"
    if cut != shown or end < len(lines):
        header += "; read on with start_line"
    return ToolOutcome(f"{header}:\n{cut}")


class NotARegularFile(WorkingCopyError):
    """A path names a fifo, a socket or a device a command made: opened, it could block the orchestrator."""


def _open_regular(path: Path, named: str, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """A descriptor of the regular file at ``path`` (never through a link, never waiting on a fifo's other end);
    anything else is refused."""
    try:
        kind = os.lstat(path).st_mode
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
    else:
        if not stat.S_ISREG(kind) and not stat.S_ISDIR(kind):
            raise NotARegularFile(f"{named!r} is not a regular file (a fifo, a socket or a link); tools read files.")
    descriptor = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise NotARegularFile(f"{named!r} is not a regular file (a fifo, a socket or a link); tools read files.")
    return descriptor


def _head_lines(path: Path, named: str) -> tuple[list[str], int]:
    """The whole lines of the file's first ``READ_BYTES_MAX`` bytes (all of them when it is no larger), and its
    size: never more than that is read."""
    with os.fdopen(_open_regular(path, named), "rb") as file:
        size = os.fstat(file.fileno()).st_size
        head = file.read(READ_BYTES_MAX + 1)
    if len(head) > READ_BYTES_MAX:
        # Cut after the last whole line: neither a line nor a character is cut in two.
        head = head[: head.rfind(b"\n", 0, READ_BYTES_MAX) + 1]
        size = max(size, READ_BYTES_MAX + 1)
    return head.decode("utf-8").splitlines(), size


async def _search_files(context: ToolContext, arguments: SearchFilesIn) -> ToolOutcome:
    copy = _workspace(context).copy
    try:
        found, skipped, special = await asyncio.to_thread(_search, copy, arguments)
    except (WorkingCopyError, FileNotFoundError, NotADirectoryError) as exc:
        raise ToolError(_said(exc, arguments.path)) from None
    note = _skipped_note(skipped) + _special_note(special)
    if not found:
        return ToolOutcome("Nothing matches." + note)
    more = f"\n… more than {SEARCH_MATCHES_MAX} matches; narrow the search." if len(found) > SEARCH_MATCHES_MAX else ""
    return ToolOutcome(_bounded("\n".join(found[:SEARCH_MATCHES_MAX])) + more + note)


def _search(copy: WorkingCopy, arguments: SearchFilesIn) -> tuple[list[str], list[str], list[str]]:
    """The matching lines (or files), the files too large to search and those that are not regular files."""
    found: list[str] = []
    skipped: list[str] = []
    special: list[str] = []
    for relative in copy.matching(arguments.pattern, arguments.path):
        if arguments.contains:
            kind = _unsearchable(copy, relative)
            if kind is not None:
                (skipped if kind == "large" else special).append(relative)
                continue
        found += _matches(copy, relative, arguments.contains)
        if len(found) > SEARCH_MATCHES_MAX:
            break
    return found, skipped, special


def _unsearchable(copy: WorkingCopy, relative: str) -> str | None:
    """Why a file is not searched: "large", "special" (a fifo, a socket, a device), or None."""
    try:
        status = copy.path(relative).lstat()
    except (WorkingCopyError, OSError):  # a link out, a file gone: _matches leaves it out
        return None
    if not stat.S_ISREG(status.st_mode):
        return "special"
    return "large" if status.st_size > SEARCH_FILE_BYTES_MAX else None


def _special_note(special: list[str]) -> str:
    if not special:
        return ""
    shown = ", ".join(special[:10]) + (f" and {len(special) - 10} more" if len(special) > 10 else "")
    return f"\nNot searched, not regular files (a fifo, a socket): {shown}."


def _skipped_note(skipped: list[str]) -> str:
    if not skipped:
        return ""
    shown = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
    return f"\nNot searched, larger than {SEARCH_FILE_BYTES_MAX >> 20} MiB: {shown} (read_file reads a line range)."


def _matches(copy: WorkingCopy, relative: str, contains: str) -> list[str]:
    if not contains:
        return [relative]
    try:
        with os.fdopen(_open_regular(copy.path(relative), relative), "rb") as file:
            text = file.read().decode("utf-8")
    except (WorkingCopyError, UnicodeDecodeError, OSError):  # a link out, a binary file: not searched
        return []
    return [f"{relative}:{n}: {line.strip()[:200]}" for n, line in enumerate(text.splitlines(), 1) if contains in line]


async def _write_file(context: ToolContext, arguments: WriteFileIn) -> ToolOutcome:
    copy = _workspace(context).copy
    try:
        await asyncio.to_thread(_write, copy, arguments.path, arguments.content)
    except WorkingCopyError as exc:
        raise ToolError(str(exc)) from None
    except (NotADirectoryError, FileExistsError):
        raise ToolError(f"A file stands where a directory of {arguments.path!r} should be.") from None
    lines = arguments.content.count("\n") + (0 if arguments.content.endswith("\n") or not arguments.content else 1)
    return ToolOutcome(f"Wrote {arguments.path} ({lines} lines).")


def _write(copy: WorkingCopy, relative: str, content: str) -> None:
    path = copy.path(relative)
    if path == copy.root.resolve() or path.is_dir():
        raise ToolError(f"{relative!r} is a directory; name a file.")
    path.parent.mkdir(parents=True, exist_ok=True)
    copy.path(relative)  # a directory made on the way cannot be a link out, but check after making it
    descriptor = _open_regular(path, relative, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content.encode("utf-8"))


async def _apply_patch(context: ToolContext, arguments: PatchIn) -> ToolOutcome:
    try:
        paths = await _workspace(context).copy.apply_patch(arguments.patch)
    except WorkingCopyError as exc:
        raise ToolError(str(exc)) from None
    return ToolOutcome(f"Applied the patch to {', '.join(paths)}.")


async def _view_diff(context: ToolContext, _: NoArguments) -> ToolOutcome:
    copy = _workspace(context).copy
    removed = await _clear_nested(copy)
    try:
        diff = await copy.diff()
    except GitError as exc:
        raise ToolError(f"The diff could not be made: {brief(exc)}") from None
    except WorkingCopyError as exc:
        raise ToolError(f"{removed}{exc}") from None
    if not diff.strip():
        return ToolOutcome(f"{removed}The branch has no change against main yet.")
    shown = _bounded(diff)
    note = "" if shown == diff else "\n… the diff is longer; read the files for the rest."
    return ToolOutcome(removed + shown + note)


async def _commit(context: ToolContext, arguments: CommitIn) -> ToolOutcome:
    code = _workspace(context)
    call = f"{context.step}/{context.call_id}"
    removed = await _clear_nested(code.copy)
    try:
        committed = await code.copy.commit_and_push(
            arguments.message, code.author, str(context.run_id), call, card=code.card
        )
    except WorkingCopyError as exc:
        raise ToolError(f"{removed}{exc}") from None
    if not committed.made:
        return ToolOutcome(f"{removed}Already committed as {committed.sha[:12]} on {code.copy.branch}.")
    moved = " The branch had moved meanwhile: the commit was rebased onto it." if committed.rebased else ""
    return ToolOutcome(f"{removed}Committed {committed.sha[:12]} and pushed it to {code.copy.branch}.{moved}")


async def _run_command(context: ToolContext, arguments: CommandIn) -> ToolOutcome:
    code = _workspace(context)
    if code.sandbox is None:
        raise ToolError(f"Commands cannot run here: {code.unavailable}. Nothing was run.")
    started = datetime.now(UTC)
    try:
        result = await code.sandbox.run(arguments.command, code.copy.root, code.limits)
    except (SandboxUnavailable, SandboxFailure, ValueError) as exc:
        raise ToolError(f"The command could not run: {exc}. Nothing was run.") from None
    except OSError as exc:  # the machine refused the sandbox a process, a file: the model may try again
        raise ToolError(f"The sandbox failed ({exc}); the command may not have run. Try it again.") from None
    await code.record(CommandRun(f"{context.step}/{context.call_id}", arguments.command, result, started))
    # Whatever the command did, the host runs git here next: a repository it made inside does not stay.
    removed = await _clear_nested(code.copy)
    tail = result.output_tail[-OUTPUT_TAIL_SHOWN:]
    cut = " (the output's tail)" if result.truncated or len(tail) < len(result.output_tail) else ""
    answer = f"$ {arguments.command}\n{', '.join(_how_it_ended(result))}; output{cut}:\n{tail}"
    return ToolOutcome(f"{answer}\n{removed}" if removed else answer)


def _how_it_ended(result: CommandResult) -> list[str]:
    """The exit code first (the line a model reads), then what stopped the command when something did."""
    how = [f"exit code {result.exit_code}"]
    if result.timed_out:
        how.append("stopped at the time limit")
    elif result.launcher_died:
        how.append(
            f"the sandbox itself was killed by {result.signal or 'a signal'} before the command ended, so the "
            "command's own outcome is unknown; running it again is safe"
        )
    elif result.killed_reason:
        how.append(f"stopped: {result.killed_reason}")
    elif result.signal:
        how.append(f"killed by {result.signal}")
    return how


def _removed_note(removed: list[str]) -> str:
    """What the model is told when nested repositories were removed from the working copy (empty when none)."""
    if not removed:
        return ""
    shown = ", ".join(removed[:20]) + (f" and {len(removed) - 20} more" if len(removed) > 20 else "")
    return (
        f"Removed nested git repositories from the working copy: {shown}. A repository inside the working copy "
        "(a .git directory or file below the top) is not something an agent may commit, and submodules are not "
        "supported; their files stay and are committed as plain files.\n"
    )


async def _clear_nested(copy: WorkingCopy) -> str:
    """Remove the nested repositories a command left, saying which; a working copy that cannot be scanned whole is
    refused (the model is told why) rather than handed to git."""
    try:
        return _removed_note(await copy.remove_nested_repositories())
    except WorkingCopyError as exc:
        raise ToolError(str(exc)) from None


def _bounded(text: str) -> str:
    if len(text) <= ANSWER_MAX:
        return text
    cut = text[:ANSWER_MAX]
    return cut[: cut.rfind("\n")] if "\n" in cut else cut


def _said(exc: Exception, path: str) -> str:
    if isinstance(exc, WorkingCopyError):
        return str(exc)
    return f"There is no directory {path!r}; list_files names what there is."


def _code_tool(name: str, description: str, arguments: type[_Arguments], act: Action) -> Tool:
    """A tool on the working copy: one at a time (a command hands the working copy to the sandbox's user while it
    runs, and git must not see it meanwhile), in the order the model called them; git's own failures are fed back."""

    async def guarded(context: ToolContext, parsed: Any) -> ToolOutcome:
        async with _workspace(context).lock:
            try:
                return await act(context, parsed)
            except GitError as exc:
                raise ToolError(f"git failed: {brief(exc)}") from None
            except WorkingCopyError as exc:
                raise ToolError(str(exc)) from None

    return Tool(name, description, arguments, guarded)


READ_TOOLS = (
    _code_tool("list_files", "List the files of the repository (or of a directory of it).", ListFilesIn, _list_files),
    _code_tool(
        "read_file",
        f"Read a text file of the repository, up to {READ_LINES_MAX} lines a call (start_line, end_line).",
        ReadFileIn,
        _read_file,
    ),
    _code_tool(
        "search_files",
        "Find files by a glob of their path, and lines in them containing a text.",
        SearchFilesIn,
        _search_files,
    ),
    _code_tool(
        "view_diff",
        "The card's branch (with uncommitted changes) against main, as a unified diff.",
        NoArguments,
        _view_diff,
    ),
)
WRITE_TOOLS = (
    _code_tool(
        "write_file", "Write a whole file of the repository (created with its directories).", WriteFileIn, _write_file
    ),
    _code_tool("apply_patch", "Apply a unified diff to the repository's files.", PatchIn, _apply_patch),
    _code_tool(
        "commit",
        "Commit every change of the working copy with this message and push it to the card's branch.",
        CommitIn,
        _commit,
    ),
)
COMMAND_TOOLS = (
    _code_tool(
        "run_command",
        "Run a shell command (tests, a linter, a build) in the repository's root, in a sandbox with no network; "
        "answers the exit code and the output's tail.",
        CommandIn,
        _run_command,
    ),
)
CODE_TOOL_NAMES = frozenset(tool.name for tool in READ_TOOLS + WRITE_TOOLS + COMMAND_TOOLS)
