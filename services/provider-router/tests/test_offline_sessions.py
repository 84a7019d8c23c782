"""The offline model's agent sessions: offered a role's tools as the orchestrator offers them, it plays the session
that role would, turn by turn, deterministically and labelled offline. Tool results are written as the
orchestrator's tools answer them."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentworks_provider_router.providers.base import ChatRequest, Message, Tool, ToolCall
from agentworks_provider_router.providers.offline import LABEL, OfflineProvider

CARD_TOOLS = (
    "list_documents", "read_document", "write_document", "read_card", "update_card", "add_checklist_items",
    "check_checklist_item", "comment",
)  # fmt: skip
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ceo_copilot": (("vision",), ()),
    "strategy": (("blueprint", "mvp"), ()),
    "prd": (("prd",), ()),
    "designer": (("design_brief",), ("generate_image",)),
    "architect": (("infra_design",), ("create_child_card",)),
    "dev_backend": (("backend_notes",), ()),
    "qa": (("test_plan",), ()),
}
CARD_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
CARD = (
    f"Card {CARD_ID} (feature): Saved cards\n\nCustomers keep a card on file to pay in one step.\n\n"
    "Acceptance criteria:\n- A saved card is offered at checkout\n- A customer can remove a saved card\n\n"
    "Checklist:\n- [x] Agree the card vault provider"
)


def offered(role: str) -> tuple[Tool, ...]:
    """The role's tools as the orchestrator declares them: ``write_document``'s name is an enum of its documents."""
    documents, extra = ROLES[role]
    named: dict[str, Any] = {"name": {"type": "string", "enum": list(documents)}}
    return tuple(
        Tool(name, f"The {name} tool.", {"type": "object", "properties": named if name == "write_document" else {}})
        for name in (*CARD_TOOLS, "request_move", *extra)
    )


def answered(call: ToolCall) -> str:
    """What the orchestrator's tool answers the call."""
    arguments = json.loads(call.arguments)
    if call.name == "read_card":
        return CARD
    if call.name == "list_documents":
        return "The card's documents (newest version of each):\n- prd (v2): PRD: Saved cards"
    if call.name == "create_child_card":
        child = uuid.uuid5(CARD_ID, call.id)
        return (
            f"Created the child card {child} in Ready (lane 4), where the team picks it up: {arguments['title']}\n"
            "To comment on it, pass its id as card_id."
        )
    return "Done."


@dataclass(frozen=True)
class Played:
    texts: list[str]
    calls: list[list[ToolCall]]

    def tools(self) -> list[list[str]]:
        return [[call.name for call in turn] for turn in self.calls]

    def arguments(self, tool: str) -> list[dict[str, Any]]:
        return [json.loads(call.arguments) for turn in self.calls for call in turn if call.name == tool]


def play(role: str, limit: int = 12, system: str = "") -> Played:
    """The whole session, each turn's calls answered as the orchestrator would, until it answers with no call."""
    provider, tools = OfflineProvider(token_delay=0), offered(role)
    system = system or f"You are the {role}."
    messages = [Message("system", system), Message("user", 'Work on the card "Saved cards" now.')]
    texts: list[str] = []
    calls: list[list[ToolCall]] = []
    for _ in range(limit):
        text, made = provider.agent_turn(ChatRequest("offline-small", tuple(messages), tools=tools))
        texts.append(text)
        calls.append(list(made))
        if not made:
            return Played(texts, calls)
        messages.append(Message("assistant", text, tool_calls=made))
        messages += [Message("tool", answered(call), tool_call_id=call.id) for call in made]
    raise AssertionError(f"the {role} session did not end in {limit} turns")


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("strategy", [["write_document", "write_document"], ["comment"]]),
        ("prd", [["write_document"], ["comment"]]),
        ("designer", [["write_document"], ["generate_image"], ["comment"]]),
        ("architect", [["write_document"], ["create_child_card", "create_child_card"], ["comment"]]),
        ("dev_backend", [["write_document"], ["add_checklist_items"], ["comment"]]),
        ("qa", [["write_document"], ["comment"]]),
    ],
)
def test_each_role_plays_the_session_its_tools_allow(role: str, expected: list[list[str]]) -> None:
    played = play(role)
    assert played.tools() == [["read_card", "list_documents"], *expected, []]
    written = [document["name"] for document in played.arguments("write_document")]
    assert written == list(ROLES[role][0])


def test_the_first_turn_repeats_what_a_teammate_asked_for() -> None:
    request = "Please cover refunds\nand partial captures. " + "z" * 300
    fenced = f"You are the prd.\n<teammate-request>\n{request}\n</teammate-request>\nOutput contract."
    first = play("prd", system=fenced).texts[0].removeprefix(f"{LABEL}\n")
    assert first.startswith("Reading the card and the documents earlier lanes wrote for it. A teammate asked: “")
    assert "Please cover refunds and partial captures. zzz" in first
    assert first.endswith("…”")
    assert play("prd").texts[0] == f"{LABEL}\nReading the card and the documents earlier lanes wrote for it."


def test_only_a_role_offered_create_child_card_makes_children() -> None:
    for role in ROLES:
        children = play(role).arguments("create_child_card")
        assert len(children) == (2 if role == "architect" else 0), role


def test_the_architects_children_are_distinct_tasks_with_criteria_and_its_comment_names_them() -> None:
    played = play("architect")
    children = played.arguments("create_child_card")
    titles = [child["title"] for child in children]
    assert titles == ["Saved cards: API and data model", "Saved cards: screens and states"]
    assert all(len(child["acceptance_criteria"]) >= 2 for child in children)
    assert children[0]["acceptance_criteria"] != children[1]["acceptance_criteria"]
    assert "A saved card is offered at checkout" in children[1]["acceptance_criteria"]  # the card's own criteria
    [comment] = played.arguments("comment")
    made = [call for turn in played.calls for call in turn if call.name == "create_child_card"]
    for call, title in zip(made, titles, strict=True):
        assert f"- {title} ({uuid.uuid5(CARD_ID, call.id)})" in comment["body"]


def test_the_designer_writes_the_design_brief_and_generates_a_concept_of_the_card() -> None:
    played = play("designer")
    [brief] = played.arguments("write_document")
    assert (brief["name"], brief["title"]) == ("design_brief", "Design Brief: Saved cards")
    assert "## Key screens and states" in brief["content"]
    assert "Builds on the card's prd." in brief["content"]  # it listed the card's documents first
    [image] = played.arguments("generate_image")
    assert "Saved cards" in image["prompt"]
    [comment] = played.arguments("comment")
    assert "The concept image is on the card." in comment["body"]


def test_documents_are_drafted_from_the_card_read() -> None:
    [prd] = play("prd").arguments("write_document")
    assert "Customers keep a card on file to pay in one step." in prd["content"]
    assert "- A saved card is offered at checkout\n- A customer can remove a saved card" in prd["content"]


def test_a_developer_adds_only_its_own_steps_to_the_checklist_never_rewriting_the_cards_lines() -> None:
    played = play("dev_backend")
    [added] = played.arguments("add_checklist_items")
    assert added == {
        "items": ["Write the migration", "Add the endpoints with validation", "Cover each endpoint with tests"]
    }
    assert played.arguments("update_card") == []  # the whole checklist is never written back


def test_a_developer_adds_no_step_the_checklist_already_has(monkeypatch: pytest.MonkeyPatch) -> None:
    has_a_step = CARD.replace("- [x] Agree the card vault provider", "- [x] Write the migration")
    monkeypatch.setitem(globals(), "CARD", has_a_step)
    [added] = play("dev_backend").arguments("add_checklist_items")
    assert added == {"items": ["Add the endpoints with validation", "Cover each endpoint with tests"]}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_session_is_labelled_offline_and_the_same_each_time(role: str) -> None:
    played = play(role)
    assert played == play(role)
    assert played.texts[0].startswith(LABEL)
    assert LABEL in played.texts[-1]
    assert played.texts[-1].startswith("Done: ")
    assert all(LABEL in document["content"] for document in played.arguments("write_document"))
    assert all(LABEL in comment["body"] for comment in played.arguments("comment"))


GIT = shutil.which("git") or "git"
CODE_TOOLS = {
    "dev_backend": ("list_files", "read_file", "search_files", "view_diff", "write_file", "apply_patch", "commit",
                    "run_command"),
    "qa": ("list_files", "read_file", "search_files", "view_diff", "run_command"),
    "reviewer": ("list_files", "read_file", "search_files", "view_diff"),
}  # fmt: skip
CODE_ROLES = {"dev_backend": ("backend_notes",), "qa": ("test_plan",), "reviewer": ("code_review",)}


@dataclass
class WorkingCopy:
    """The orchestrator's code tools as a plain directory: files written and patched, the tests run for real
    (outside any sandbox: this is the offline model's test, not the orchestrator's), commits counted."""

    root: Path
    commits: list[str]

    def answer(self, call: ToolCall) -> str:
        arguments = json.loads(call.arguments)
        if call.name == "write_file":
            (self.root / arguments["path"]).write_text(arguments["content"])
            return f"Wrote {arguments['path']}."
        if call.name == "apply_patch":
            subprocess.run([GIT, "apply", "-"], input=arguments["patch"], text=True, cwd=self.root, check=True)
            return "Applied the patch."
        if call.name == "run_command":
            argv = shlex.split(arguments["command"])
            argv[0] = shutil.which(argv[0]) or argv[0]
            # As in the sandbox: no bytecode cache, which would take a same-size fix made within the second for
            # the unchanged file and run the old assertion again.
            environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            ran = subprocess.run(argv, cwd=self.root, capture_output=True, text=True, check=False, env=environment)
            return f"$ {arguments['command']}\nexit code {ran.returncode}; output:\n{ran.stdout}{ran.stderr}"
        if call.name == "commit":
            self.commits.append(arguments["message"])
            return "Committed 0123456789ab and pushed it to card/saved-cards-00000000."
        if call.name == "view_diff":
            files = sorted(path.name for path in self.root.iterdir() if path.suffix in (".py", ""))
            return "".join(f"diff --git a/{name} b/{name}\n+++ b/{name}\n" for name in files)
        return answered(call)


def play_code(role: str, copy: WorkingCopy) -> Played:
    provider = OfflineProvider(token_delay=0)
    named: dict[str, Any] = {"name": {"type": "string", "enum": list(CODE_ROLES[role])}}
    tools = tuple(
        Tool(name, f"The {name} tool.", {"type": "object", "properties": named if name == "write_document" else {}})
        for name in (*CARD_TOOLS, "request_move", *CODE_TOOLS[role])
    )
    messages = [Message("system", f"You are the {role}."), Message("user", 'Work on the card "Saved cards" now.')]
    played = Played([], [])
    for _ in range(16):
        text, made = provider.agent_turn(ChatRequest("offline-small", tuple(messages), tools=tools))
        played.texts.append(text)
        played.calls.append(list(made))
        if not made:
            return played
        messages.append(Message("assistant", text, tool_calls=made))
        messages += [Message("tool", copy.answer(call), tool_call_id=call.id) for call in made]
    raise AssertionError(f"the {role} session did not end")


def test_a_developer_writes_a_module_and_its_test_fixes_the_one_failing_assertion_and_commits(tmp_path: Path) -> None:
    copy = WorkingCopy(tmp_path, [])
    played = play_code("dev_backend", copy)
    assert played.tools()[:6] == [
        ["read_card", "list_documents"], ["write_file", "write_file", "write_file"], ["run_command"], ["apply_patch"],
        ["run_command"], ["commit"],
    ]  # fmt: skip
    written = [arguments["path"] for arguments in played.arguments("write_file")]
    assert written == [".gitignore", "saved_cards.py", "test_saved_cards.py"]
    assert "A saved card is offered at checkout" in (tmp_path / "saved_cards.py").read_text()
    first, second = (json.loads(turn[0].arguments)["command"] for turn in played.calls if turn[:1] and
                     turn[0].name == "run_command")  # fmt: skip
    assert first == second == "python3 -m unittest -v"
    assert len(copy.commits) == 1
    assert LABEL in copy.commits[0]
    ran = subprocess.run([sys.executable, "-m", "unittest"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr


def test_the_developers_first_run_fails_on_the_wrong_assertion_and_the_second_passes(tmp_path: Path) -> None:
    copy = WorkingCopy(tmp_path, [])
    answers: list[str] = []
    original = copy.answer

    def recording(call: ToolCall) -> str:
        said = original(call)
        if call.name == "run_command":
            answers.append(said)
        return said

    copy.answer = recording  # type: ignore[method-assign]
    play_code("dev_backend", copy)
    assert [answer.split("\n")[1].split(";")[0] for answer in answers] == ["exit code 1", "exit code 0"]
    assert "AssertionError: 2 != 3" in answers[0]


def test_qa_runs_the_tests_and_reports_them_passing_with_the_evidence(tmp_path: Path) -> None:
    play_code("dev_backend", WorkingCopy(tmp_path, []))
    played = play_code("qa", WorkingCopy(tmp_path, []))
    assert played.tools()[:3] == [["read_card", "list_documents"], ["run_command"], ["write_document"]]
    [plan] = played.arguments("write_document")
    [comment] = played.arguments("comment")
    assert comment["body"].startswith("Tests pass. Evidence:")
    assert "$ python3 -m unittest -v\nexit code 0" in comment["body"]
    assert "Ran 2 tests" in comment["body"]
    assert "## Results\n\nTests pass." in plan["content"]


def test_qa_reports_failing_tests_as_failing(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n"
                                             "    def test_it(self):\n        self.fail('broken')\n")  # fmt: skip
    [comment] = play_code("qa", WorkingCopy(tmp_path, [])).arguments("comment")
    assert comment["body"].startswith("Tests fail. Evidence:")
    assert "exit code 1" in comment["body"]


def test_the_reviewer_reads_the_diff_and_approves_a_module_with_its_test(tmp_path: Path) -> None:
    play_code("dev_backend", WorkingCopy(tmp_path, []))
    played = play_code("reviewer", WorkingCopy(tmp_path, []))
    assert played.tools()[:3] == [["read_card", "list_documents"], ["view_diff"], ["write_document"]]
    [comment] = played.arguments("comment")
    assert comment["body"].startswith("Approve: 3 files change (.gitignore, saved_cards.py, test_saved_cards.py)")
    [review] = played.arguments("write_document")
    assert review["name"] == "code_review"
    assert "## Verdict\n\nApprove" in review["content"]
    assert played.arguments("write_file") == played.arguments("commit") == []


def test_the_reviewer_requests_changes_when_code_comes_without_tests(tmp_path: Path) -> None:
    (tmp_path / "saved_cards.py").write_text("CARDS = []\n")
    [comment] = play_code("reviewer", WorkingCopy(tmp_path, [])).arguments("comment")
    assert comment["body"].startswith("Request changes: saved_cards.py change with no test")


async def _streamed(request: ChatRequest) -> tuple[str, list[ToolCall], str | None, int]:
    text, calls, finish, output = "", [], None, 0
    async for delta in OfflineProvider(token_delay=0).stream_chat(request):
        text += delta.content or ""
        calls += [delta.tool_call] if delta.tool_call else []
        finish = delta.finish_reason or finish
        output = delta.output_tokens or output
    return text, calls, finish, output


async def test_an_answer_stops_at_the_requests_token_limit_as_a_providers_does() -> None:
    asked = (Message("user", "Summarise the card in a few words please"),)
    whole, _, finish, output = await _streamed(ChatRequest("offline", asked))
    assert (finish, output) == ("stop", len(whole.split()))
    cut, calls, finish, output = await _streamed(ChatRequest("offline", asked, max_tokens=5))
    assert (finish, output, calls) == ("length", 5, [])
    assert whole.startswith(cut)
    assert len(cut.split()) == 5


async def test_a_turn_cut_at_the_token_limit_makes_no_tool_call() -> None:
    offered = tuple(Tool(name, name, {"type": "object"}) for name in ("read_card", "write_document"))
    asked = (Message("system", "You write the PRD."), Message("user", 'Work on the card "Saved cards" now.'))
    _, calls, finish, _ = await _streamed(ChatRequest("offline", asked, tools=offered))
    assert calls
    assert finish == "tool_calls"
    _, calls, finish, output = await _streamed(ChatRequest("offline", asked, max_tokens=2, tools=offered))
    assert (calls, finish, output) == ([], "length", 2)
