"""Who a comment names: ``@prd`` or ``@PRD`` (an agent by key or by name, ``@Backend developer`` too) and
``@ada`` (a person by their email's local part, or ``@ada@example.com`` in full when two share it). Agents win
over a person with the same handle; text in code spans and blocks names no one."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from agentworks_core.agents.registry import AGENTS

MENTION = re.compile(r"(?<![\w@.+-])@")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
HANDLE_END = re.compile(r"[\w.+-]")


@dataclass(frozen=True, slots=True)
class Person:
    user_id: uuid.UUID
    email: str

    @property
    def handle(self) -> str:
        return handle_of(self.email)


@dataclass
class Mentions:
    agents: list[str] = field(default_factory=list)
    people: set[uuid.UUID] = field(default_factory=set)


def handle_of(email: str) -> str:
    """A person's handle in comments: the local part of their email, lower case."""
    return email.rpartition("@")[0].lower()


def _agent_names() -> list[tuple[str, str]]:
    """(what may follow the @, lower case; agent key), longest first so ``@Backend developer`` beats a prefix."""
    names = [(a.display_name.lower(), a.key) for a in AGENTS] + [(a.key, a.key) for a in AGENTS]
    return sorted(names, key=lambda pair: -len(pair[0]))


AGENT_NAMES = _agent_names()


def _ends_word(text: str, end: int) -> bool:
    """True when the name that ends at ``end`` is not the start of a longer handle."""
    return end >= len(text) or not HANDLE_END.match(text[end]) or (text[end] == "." and not _continues(text, end))


def _continues(text: str, end: int) -> bool:
    return end + 1 < len(text) and bool(re.match(r"\w", text[end + 1]))


def _agent_at(text: str, start: int) -> str | None:
    rest = text[start : start + 40].lower()
    for name, key in AGENT_NAMES:
        if rest.startswith(name) and _ends_word(text, start + len(name)):
            return key
    return None


def _people_at(text: str, start: int, people: list[Person]) -> set[uuid.UUID]:
    rest = text[start : start + 260].lower()
    by_email = {
        p.user_id for p in people if rest.startswith(p.email.lower()) and _ends_word(text, start + len(p.email))
    }
    if by_email:
        return by_email
    return {p.user_id for p in people if rest.startswith(p.handle) and _ends_word(text, start + len(p.handle))}


def mentions_in(body: str, people: list[Person]) -> Mentions:
    """The agents (in the order named, once each) and people a comment's Markdown names."""
    text = CODE.sub(" ", body)
    found = Mentions()
    for match in MENTION.finditer(text):
        start = match.end()
        agent = _agent_at(text, start)
        if agent is not None:
            if agent not in found.agents:
                found.agents.append(agent)
            continue
        found.people |= _people_at(text, start, people)
    return found
