"""What the offline model does with AgentWorks' code tools, by the tools offered: a developer (offered ``commit``)
writes a small module of the card, its test and a ``.gitignore`` of what the tests leave, runs the tests, which
fail on a deliberately wrong assertion, fixes that assertion once with a patch, runs them again and commits; a
tester (offered ``run_command`` only) runs the tests; a reviewer (offered ``view_diff`` only) reads the diff.
Everything is derived from the card as ``read_card`` showed it and from what the tools answered, so the same
conversation always gets the same turn."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

Call = tuple[str, dict[str, object]]
TEST_COMMAND = "python3 -m unittest -v"
COMMAND_ANSWER = re.compile(r"^\$ (?P<command>.*)\n(?:exit code (?P<exit>-?\d+))", re.M)
DIFF_FILE = re.compile(r"^diff --git a/(?P<path>\S+) b/", re.M)
IGNORED = "__pycache__/\n"  # what running the tests leaves in the working copy
# The implementation notes a developer writes name which part of the card its module is.
PART_OF_NOTES = {"backend_notes": "", "frontend_notes": "_screen"}


@dataclass(frozen=True, slots=True)
class CommandSeen:
    """A command ``run_command`` answered: what ran, its exit code (None when it could not run) and the answer."""

    command: str
    exit_code: int | None
    answer: str

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True, slots=True)
class CodeTurn:
    text: str
    calls: list[Call]
    done: str


def role_of(offered: set[str]) -> str | None:
    """``implements``, ``tests`` or ``reviews``: what the code tools offered make of the role (None: no code)."""
    if "commit" in offered:
        return "implements"
    if "run_command" in offered:
        return "tests"
    if "view_diff" in offered:
        return "reviews"
    return None


def module_name(title: str, owned: list[str]) -> str:
    """A Python module name from the card's title (and the part of it the developer builds)."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    name = "_".join(words)[:40].strip("_") or "card"
    if name[0].isdigit():
        name = f"card_{name}"
    return name + next((PART_OF_NOTES[kind] for kind in owned if kind in PART_OF_NOTES), "")


def module_source(title: str, criteria: tuple[str, ...], label: str) -> str:
    listed = "".join(f"    {criterion!r},\n" for criterion in criteria)
    return (
        f'"""{title}: its acceptance criteria, and whether the ones checked meet them all.\n\n{label}\n"""\n\n'
        f"CRITERIA: tuple[str, ...] = (\n{listed})\n\n\n"
        "def done(checked: set[str]) -> bool:\n"
        '    """Whether every acceptance criterion of the card is checked."""\n'
        "    return all(criterion in checked for criterion in CRITERIA)\n"
    )


def test_source(module: str, title: str, expected_count: int) -> str:
    return (
        f'"""Tests of {module}: {title}."""\n\n'
        "import unittest\n\n"
        f"from {module} import CRITERIA, done\n\n\n"
        "class CriteriaTest(unittest.TestCase):\n"
        "    def test_lists_every_acceptance_criterion(self) -> None:\n"
        f"        self.assertEqual(len(CRITERIA), {expected_count})\n\n"
        "    def test_done_only_when_every_criterion_is_checked(self) -> None:\n"
        "        self.assertFalse(done(set(CRITERIA[1:])))\n"
        "        self.assertTrue(done(set(CRITERIA)))\n\n\n"
        'if __name__ == "__main__":\n'
        "    unittest.main()\n"
    )


def implementation(title: str, criteria: tuple[str, ...], owned: list[str], label: str) -> list[CodeTurn]:
    """A developer's turns: the module and its test (one assertion off by one), the failing run, the fix, the
    passing run and the commit."""
    module = module_name(title, owned)
    wrong = test_source(module, title, len(criteria) + 1)
    right = test_source(module, title, len(criteria))
    test_path = f"test_{module}.py"
    fix = "".join(
        difflib.unified_diff(
            wrong.splitlines(keepends=True), right.splitlines(keepends=True), f"a/{test_path}", f"b/{test_path}"
        )
    )
    run: list[Call] = [("run_command", {"command": TEST_COMMAND})]
    return [
        CodeTurn(
            f"Writing {module}.py and its test.",
            [
                ("write_file", {"path": ".gitignore", "content": IGNORED}),
                ("write_file", {"path": f"{module}.py", "content": module_source(title, criteria, label)}),
                ("write_file", {"path": test_path, "content": wrong}),
            ],
            f"wrote {module}.py with its test",
        ),
        CodeTurn("Running the tests.", run, "ran the tests"),
        CodeTurn(
            "One assertion expects a criterion too many; fixing it.",
            [("apply_patch", {"patch": fix})],
            "fixed the failing assertion",
        ),
        CodeTurn("Running the tests again.", run, "ran them again"),
        CodeTurn(
            "The tests pass; committing.",
            [("commit", {"message": f"Add {module} for {title}, with its tests\n\n{label}"})],
            "committed the change",
        ),
    ]


def code_turns(role: str | None, title: str, criteria: tuple[str, ...], owned: list[str], label: str) -> list[CodeTurn]:
    if role == "implements":
        return implementation(title, criteria, owned, label)
    if role == "tests":
        return [
            CodeTurn(
                "Running the project's tests on the card's branch.",
                [("run_command", {"command": TEST_COMMAND})],
                "ran the tests",
            )
        ]
    if role == "reviews":
        return [CodeTurn("Reading the branch's diff against main.", [("view_diff", {})], "read the diff")]
    return []


def command_seen(answer: str) -> CommandSeen | None:
    match = COMMAND_ANSWER.match(answer)
    if match is None:
        return None
    return CommandSeen(match["command"], int(match["exit"]), answer)


def diff_files(diff: str) -> tuple[str, ...]:
    return tuple(DIFF_FILE.findall(diff))


def verdict(role: str | None, commands: tuple[CommandSeen, ...], changed: tuple[str, ...] | None) -> str:
    """What a tester or reviewer reports on the card (empty for other roles)."""
    if role == "tests":
        if not commands:
            return "Could not run the tests: the command tool answered with an error."
        last = commands[-1]
        said = "Tests pass" if last.passed else "Tests fail"
        return f"{said}. Evidence:\n\n```\n{last.answer.strip()[-1500:]}\n```"
    if role == "reviews":
        if not changed:
            return "Request changes: the branch has no change against main yet."
        tests = [path for path in changed if path.rsplit("/", 1)[-1].startswith("test_")]
        if not tests:
            return f"Request changes: {', '.join(changed)} change with no test; add tests for them."
        files = ", ".join(changed)
        return f"Approve: {len(changed)} files change ({files}), each module with its tests ({', '.join(tests)})."
    return ""
