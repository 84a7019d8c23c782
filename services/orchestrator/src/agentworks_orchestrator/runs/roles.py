"""Which tools each role is offered: every card role has the document and card tools; the Architect breaks work
down into child cards, the Designer draws, and the build, review and test roles work on the card's code."""

from __future__ import annotations

from agentworks_orchestrator.code.tools import COMMAND_TOOLS, READ_TOOLS, WRITE_TOOLS
from agentworks_orchestrator.runs.tools import BREAKDOWN_TOOLS, CARD_TOOLS, DOCUMENT_TOOLS, IMAGE_TOOLS, Tool

BREAKS_DOWN = frozenset({"architect"})
"""The roles whose job is a breakdown into task cards: only they create child cards."""
DRAWS = frozenset({"designer"})
"""The roles that generate images."""
IMPLEMENTS = frozenset({"dev_backend", "dev_frontend"})
"""The roles that change the card's code: they write, patch, commit and run commands."""
REVIEWS = frozenset({"reviewer"})
"""The roles that read the card's code and its diff, and run nothing."""
TESTS = frozenset({"qa", "troubleshooter"})
"""The roles that read the card's code and run its tests."""
CODE_ROLES = IMPLEMENTS | REVIEWS | TESTS


def tools_of(agent: str) -> tuple[Tool, ...]:
    """The tools an agent's role may call: every role reads and writes its documents and works on its card;
    only a breakdown role creates child cards, only the Designer generates images, and only the build, review
    and test roles work on the card's branch (only the developers change it)."""
    return (
        DOCUMENT_TOOLS
        + CARD_TOOLS
        + (BREAKDOWN_TOOLS if agent in BREAKS_DOWN else ())
        + (IMAGE_TOOLS if agent in DRAWS else ())
        + (READ_TOOLS if agent in CODE_ROLES else ())
        + (WRITE_TOOLS if agent in IMPLEMENTS else ())
        + (COMMAND_TOOLS if agent in IMPLEMENTS | TESTS else ())
    )


def works_on_code(tools: tuple[Tool, ...]) -> bool:
    """Whether a run with these tools needs a working copy of its card's branch."""
    return any(tool.name == "view_diff" for tool in tools)
