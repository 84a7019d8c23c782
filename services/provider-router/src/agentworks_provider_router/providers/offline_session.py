"""The offline model's agent session: what an agent offered AgentWorks' tools does, turn by turn, with no provider.

The session is shaped by the tools offered, which is how the orchestrator tells roles apart: it reads the card
(and the card's documents), works on the card's code when offered the code tools (``offline_code``: a developer
writes a module and its test, runs them, fixes the one failing assertion and commits; QA runs the tests; the
reviewer reads the diff; each reports what it found), writes each document ``write_document`` names (its ``name``
enum is the role's own), generates an image when ``generate_image`` is offered, creates two child cards when
``create_child_card`` is, adds the implementation steps to the card's checklist when the role writes implementation
notes, comments, and then answers with a summary. Each turn is derived from the conversation alone (the card as
``read_card`` showed it, the children ``create_child_card`` answered, the commands ``run_command`` ran), so the same
conversation always gets the same turn, and everything it writes says it is offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agentworks_provider_router.providers import offline_code
from agentworks_provider_router.providers.base import ChatRequest
from agentworks_provider_router.providers.offline_code import CommandSeen

LABEL = "[offline model — no provider key configured; this text is generated locally]"

Call = tuple[str, dict[str, Any]]
CHILD_ANSWER = re.compile(r"^Created the child card (?P<id>[0-9a-f-]{36}) in [^:]*: (?P<title>.*)$", re.M)
CHECKLIST_LINES = 100  # the most a card's checklist holds
LISTED_DOCUMENT = re.compile(r"^- (?P<name>[a-z][a-z0-9_]*) \(v(?P<version>\d+)\)")
TEAM_REQUEST = re.compile(r"<teammate-request>\n(?P<text>.*?)\n</teammate-request>", re.S)
REQUEST_SHOWN = 200  # how much of a teammate's request the first turn repeats


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of the session: what the agent says, the calls it makes, and how its summary tells of it."""

    text: str
    calls: list[Call]
    done: str


@dataclass(frozen=True, slots=True)
class Card:
    """The card as ``read_card`` showed it (empty until it has been read)."""

    title: str = "the card"
    description: str = ""
    criteria: tuple[str, ...] = ()
    checklist: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class Seen:
    """What the session has learnt from its tools so far."""

    card: Card = field(default_factory=Card)
    documents: tuple[str, ...] = ()
    children: tuple[tuple[str, str], ...] = ()
    commands: tuple[CommandSeen, ...] = ()
    changed: tuple[str, ...] | None = None  # the files of the branch's diff, once view_diff answered
    request: str = ""  # what a teammate asked for, fenced in the system prompt (the orchestrator's team_request)


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """How the offline model drafts one kind of document (each section a template of the card's ``title``,
    ``lower`` title, ``description``, ``criteria`` and what it ``builds_on``), and the checklist steps an
    implementer adds with it."""

    title: str
    sections: tuple[tuple[str, str], ...]
    steps: tuple[str, ...] = ()


KINDS: dict[str, DocumentKind] = {
    "vision": DocumentKind(
        "Vision",
        (
            ("Where this takes us", "{description}"),
            ("Who it is for", "- The people who asked for {title}\n- The team that will support it"),
            ("Why now", "{title} is what customers ask for most this quarter. {builds_on}"),
            ("How we will know", "{criteria}"),
            ("Questions for the team", "- What is the smallest version of {lower} worth shipping?"),
        ),
    ),
    "blueprint": DocumentKind(
        "Blueprint",
        (
            ("Problem", "{description}"),
            ("Users", "- The people who asked for {title}\n- The team that operates it"),
            ("Value proposition", "{title} saves its users time on a task they repeat every week."),
            ("Success metrics", "{criteria}"),
            ("What we will not do", "- Integrations beyond the first one\n- Custom reporting"),
        ),
    ),
    "mvp": DocumentKind(
        "MVP",
        (
            ("Smallest product that proves the value", "The core flow of {title}, end to end."),
            ("Scope", "{criteria}"),
            ("Exclusions", "- Admin tooling\n- Localisation"),
        ),
    ),
    "prd": DocumentKind(
        "PRD",
        (
            ("Goals", "{description} {builds_on}"),
            ("Personas", "- A returning customer in a hurry\n- A support agent answering questions"),
            ("User stories", "As a customer, I want {lower} so that I finish what I came for faster."),
            ("Acceptance criteria", "{criteria}"),
            ("Non-functional requirements", "- p95 page load under 1 s\n- WCAG 2.2 AA"),
            ("Open questions", "- Which users see {title} first?"),
        ),
    ),
    "design_brief": DocumentKind(
        "Design Brief",
        (
            ("Information architecture", "{title} lives one step from the home screen. {builds_on}"),
            ("Key screens and states", "- The main screen: empty, loading, filled, error\n- The confirmation"),
            ("Interaction details", "Inline validation as people type; one primary action per screen."),
            ("Visual direction", "Light theme, generous spacing, the brand colour for the primary action."),
            ("Accessibility", "Keyboard order follows reading order; contrast of 4.5:1; every field labelled."),
        ),
    ),
    "infra_design": DocumentKind(
        "Infrastructure Design",
        (
            ("Components", "An API and a web client for {title}. {builds_on}"),
            ("Data model", "One table for {lower}, keyed by id and scoped to the workspace."),
            ("APIs and events", "REST endpoints to list, create and update; an event on each change."),
            ("Security", "Every read and write checks the caller's workspace membership."),
            ("Scaling", "Stateless API instances behind the load balancer; an index for each list query."),
        ),
    ),
    "backend_notes": DocumentKind(
        "Backend Notes",
        (
            ("Endpoints", "List, create and update {lower}; invalid input is answered with 422."),
            ("Data changes", "One migration adding the table and its workspace index."),
            ("Tests", "{criteria}"),
            ("Risks", "Concurrent updates: guard each write with the row's version."),
        ),
        steps=("Write the migration", "Add the endpoints with validation", "Cover each endpoint with tests"),
    ),
    "frontend_notes": DocumentKind(
        "Frontend Notes",
        (
            ("Components", "A list and a form for {lower}, from the design system."),
            ("State and API calls", "Server state through the query cache; optimistic updates."),
            ("Accessibility", "Labelled fields; focus moves to the first error on submit."),
            ("Tests", "{criteria}"),
        ),
        steps=("Build the components", "Wire the API calls", "Test every state of the screen"),
    ),
    "code_review": DocumentKind(
        "Code Review",
        (
            ("Verdict", "{verdict}"),
            ("What was checked", "The branch's diff against main, traced to the card's criteria:\n\n{criteria}"),
        ),
    ),
    "test_plan": DocumentKind(
        "Test Plan",
        (
            ("Results", "{verdict}"),
            ("Scenarios", "{criteria}"),
            ("Edge cases", "- Empty input\n- Very long text\n- Two people editing at once"),
            ("Data", "A seeded workspace with one project and ten cards."),
            ("Exit criteria", "Every scenario passes twice in a row; no open blocker."),
        ),
    ),
    "troubleshooting_report": DocumentKind(
        "Troubleshooting Report",
        (
            ("Symptoms", "{description}"),
            ("What the tests say now", "{verdict}"),
            ("Likely causes", "1. A migration missing from the test environment\n2. A stale client"),
            ("How to confirm", "Compare the schema versions; replay the failing request."),
            ("Fix", "Apply the migrations before the tests start."),
        ),
    ),
}


def _kind(name: str) -> DocumentKind:
    return KINDS.get(name) or DocumentKind(name.replace("_", " ").title(), (("Draft", "{description} {builds_on}"),))


def _document(name: str, seen: Seen, verdict: str) -> dict[str, Any]:
    card, kind = seen.card, _kind(name)
    fields = {
        "verdict": verdict or "Not run.",
        "title": card.title,
        "lower": card.title.lower(),
        "description": card.description or f"{card.title}, as the card asks.",
        "criteria": "\n".join(f"- {c}" for c in card.criteria) or f"- The main path through {card.title} works",
        "builds_on": (
            f"Builds on the card's {', '.join(seen.documents)}."
            if seen.documents
            else "The card has no earlier document."
        ),
    }
    body = [f"# {kind.title}: {card.title}", LABEL]
    body += [f"## {heading}\n\n{template.format(**fields)}" for heading, template in kind.sections]
    return {"name": name, "title": f"{kind.title}: {card.title}"[:200], "content": "\n\n".join(body)}


def _children(card: Card) -> list[Call]:
    """Two task cards an architect would hand to the developers: the service side, then the screens."""
    topic = card.title
    backend = {
        "title": f"{topic}: API and data model"[:200],
        "description": f"The service side of {topic}: its table, migration and endpoints. (Offline draft.)",
        "acceptance_criteria": [
            f"The API lists, creates and updates {topic.lower()} for the caller's workspace only",
            "Invalid input is answered with 422 and a message naming the field",
            "A migration creates the table; integration tests cover each endpoint",
        ],
        "card_type": "task",
    }
    frontend = {
        "title": f"{topic}: screens and states"[:200],
        "description": f"The screens of {topic} as the design brief shows them. (Offline draft.)",
        "acceptance_criteria": [
            "The screens follow the design brief, with empty, loading and error states",
            "The whole flow works with the keyboard and a screen reader",
            *card.criteria[:3],
        ],
        "card_type": "task",
    }
    return [("create_child_card", backend), ("create_child_card", frontend)]


def _new_steps(card: Card, steps: tuple[str, ...]) -> list[str]:
    """The implementation steps the card's checklist does not have yet (within the lines a checklist holds): core
    adds them to the checklist as it is then, keeping the lines others add meanwhile."""
    present = {text for text, _ in card.checklist}
    return [step for step in steps if step not in present][: max(CHECKLIST_LINES - len(card.checklist), 0)]


def _comment(owned: list[str], seen: Seen, drew: bool, verdict: str) -> str:
    title = seen.card.title
    if verdict:
        return f"{verdict}\n\n{LABEL}"
    if seen.children:
        listed = "\n".join(f"- {child_title} ({child})" for child, child_title in seen.children)
        return f"Split {title} into {len(seen.children)} cards for the developers:\n{listed}\n\n{LABEL}"
    image = " The concept image is on the card." if drew else ""
    if not owned:
        return f"Reviewed {title}.{image}\n\n{LABEL}"
    wrote = " and the ".join(_kind(name).title for name in owned)
    return f"Ready for review: the {wrote} for {title}.{image}\n\n{LABEL}"


def session(offered: dict[str, Any], seen: Seen) -> list[Turn]:
    """The session's turns, each kept only when the tools it needs are offered."""
    owned = _owned_documents(offered.get("write_document"))
    title = seen.card.title
    turns: list[Turn] = []
    reads: list[Call] = [(name, {}) for name in ("read_card", "list_documents") if name in offered]
    if reads:
        turns.append(Turn(_reading(seen.request), reads, "read the card"))
    code_role = offline_code.role_of(set(offered))
    criteria = seen.card.criteria or (f"The main path through {title} works",)
    for code in offline_code.code_turns(code_role, title, criteria, owned, LABEL):
        turns.append(Turn(code.text, code.calls, code.done))
    verdict = offline_code.verdict(code_role, seen.commands, seen.changed)
    if owned:
        titles = " and the ".join(_kind(name).title for name in owned)
        writes: list[Call] = [("write_document", _document(name, seen, verdict)) for name in owned]
        turns.append(Turn(f"Drafting the {titles} for {title}.", writes, f"wrote the {titles}"))
    drew = "generate_image" in offered
    if drew:
        prompt = (
            f"A high-fidelity UI concept of the main screen of {title}: one primary action, "
            "light theme, generous spacing, accessible contrast"
        )
        turns.append(
            Turn(
                "Rendering a concept of the main screen for people to react to.",
                [("generate_image", {"prompt": prompt})],
                "generated a concept of the main screen",
            )
        )
    if "create_child_card" in offered:
        turns.append(
            Turn(
                "Splitting the build into two cards the developers can pick up.",
                _children(seen.card),
                "split the build into two child cards",
            )
        )
    steps = tuple(step for name in owned for step in _kind(name).steps)
    new_steps = _new_steps(seen.card, steps)
    if new_steps and "add_checklist_items" in offered:
        checklist: list[Call] = [("add_checklist_items", {"items": new_steps})]
        adding = "Adding the implementation steps to the card's checklist."
        turns.append(Turn(adding, checklist, "added the steps to the checklist"))
    if "comment" in offered:
        note: list[Call] = [("comment", {"body": _comment(owned, seen, drew, verdict)})]
        turns.append(Turn("Leaving a note for the team.", note, "left a note for the team"))
    return turns


def _reading(request: str) -> str:
    """The first turn's words, repeating what a teammate asked for (so people see their request was heard)."""
    reading = "Reading the card and the documents earlier lanes wrote for it."
    if not request:
        return reading
    asked = " ".join(request.split())
    asked = asked if len(asked) <= REQUEST_SHOWN else asked[: REQUEST_SHOWN - 1] + "…"
    return f"{reading} A teammate asked: “{asked}”"


def summary(turns: list[Turn], seen: Seen) -> str:
    """The session's last answer: what it did, and that it was offline."""
    done = ", ".join(turn.done for turn in turns) or "nothing to do"
    return f"Done: {seen.card.title} — {done}. {LABEL}"


def seen_in(request: ChatRequest) -> Seen:
    """What the tools answered so far in the conversation: the card read, the documents listed, the children made."""
    names = {call.id: call.name for message in request.messages for call in message.tool_calls}
    card = Card()
    documents: tuple[str, ...] = ()
    children: list[tuple[str, str]] = []
    commands: list[CommandSeen] = []
    changed: tuple[str, ...] | None = None
    asked = ""
    for message in request.messages:
        if message.role == "system" and (fenced := TEAM_REQUEST.search(message.content)):
            asked = fenced["text"]
        if message.role != "tool" or message.tool_call_id is None:
            continue
        tool = names.get(message.tool_call_id)
        if tool == "read_card":
            card = _card(message.content)
        elif tool == "list_documents":
            documents = tuple(m["name"] for line in message.content.splitlines() if (m := LISTED_DOCUMENT.match(line)))
        elif tool == "create_child_card" and (m := CHILD_ANSWER.match(message.content)):
            children.append((m["id"], m["title"]))
        elif tool == "run_command" and (command := offline_code.command_seen(message.content)):
            commands.append(command)
        elif tool == "view_diff" and not message.content.startswith("Error:"):
            changed = offline_code.diff_files(message.content)
    return Seen(card, documents, tuple(children), tuple(commands), changed, asked)


def _card(shown: str) -> Card:
    """The card from ``read_card``'s text: a header line, the description, then its criteria and checklist."""
    blocks = shown.split("\n\n")
    title = blocks[0].split("\n", 1)[0].split(": ", 1)[-1].strip() or "the card"
    description, criteria, checklist = [], [], []
    for block in blocks[1:]:
        lines = block.splitlines()
        if lines and lines[0] == "Acceptance criteria:":
            criteria = [line.removeprefix("- ") for line in lines[1:]]
        elif lines and lines[0] == "Checklist:":
            checklist = [(line[6:], line[3] == "x") for line in lines[1:] if line.startswith("- [")]
        elif not block.startswith(("Child of the card", "Acceptance criteria:", "Checklist:", "(no description)")):
            description.append(block)
    return Card(title[:80], "\n\n".join(description)[:2000], tuple(criteria), tuple(checklist))


def _owned_documents(tool: Any) -> list[str]:
    """The document names ``write_document`` offers (its ``name`` enum), if it offers any."""
    if tool is None:
        return []
    names = tool.parameters.get("properties", {}).get("name", {}).get("enum") or []
    return [str(name) for name in names]
