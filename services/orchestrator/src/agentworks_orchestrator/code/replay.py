"""The file changes of a resumed run put back in its fresh working copy: the attempt that made them died with its
working copy, but its conversation (checkpointed with each step) holds every ``write_file`` and ``apply_patch``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentworks_platform.logging import get_logger
from agentworks_repos import GitError

from agentworks_orchestrator.code.workcopy import WorkingCopy, WorkingCopyError

log = get_logger(__name__)
CHANGES_FILES = frozenset({"write_file", "apply_patch"})


async def replay(copy: WorkingCopy, conversation: Sequence[dict[str, Any]]) -> None:
    """Put back the file changes a resumed run made since its last commit (its working copy died with the attempt
    before): each ``write_file`` and ``apply_patch`` that succeeded, in order. A change already on the branch (its
    commit was pushed before the crash) changes nothing."""
    for name, arguments in _uncommitted_changes(conversation):
        try:
            if name == "write_file":
                path = copy.path(str(arguments["path"]))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(str(arguments["content"]), encoding="utf-8")
            elif not await _already_applied(copy, str(arguments["patch"])):
                await copy.apply_patch(str(arguments["patch"]))
        except (WorkingCopyError, GitError, OSError, KeyError) as exc:
            log.warning("code.replay_skipped", tool=name, error=str(exc)[:200])


def _uncommitted_changes(conversation: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    changes: list[tuple[str, dict[str, Any]]] = []
    for message in conversation:
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            calls[str(call.get("id"))] = (str(function.get("name")), _arguments(function.get("arguments")))
        if message.get("role") != "tool" or str(message.get("content", "")).startswith("Error:"):
            continue
        name, arguments = calls.get(str(message.get("tool_call_id")), ("", {}))
        if name == "commit":
            changes = []
        elif name in CHANGES_FILES:
            changes.append((name, arguments))
    return changes


def _arguments(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


async def _already_applied(copy: WorkingCopy, patch: str) -> bool:
    try:
        await copy.git("apply", "--reverse", "--check", "-", stdin=patch if patch.endswith("\n") else patch + "\n")
    except GitError:
        return False
    return True
