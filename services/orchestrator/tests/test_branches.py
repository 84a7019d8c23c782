"""Card branch names: readable from the title, unique by the card id, valid git refs."""

from __future__ import annotations

import uuid

import pytest
from agentworks_orchestrator.code.branches import branch_for, card_prefix_of, slug
from agentworks_repos import run_git

CARD = uuid.UUID("3f2a9c1e-0000-4000-8000-000000000000")


@pytest.mark.parametrize(
    ("title", "branch"),
    [
        ("Add a login page", "card/add-a-login-page-3f2a9c1e"),
        ("  Café: naïve résumé!  ", "card/cafe-naive-resume-3f2a9c1e"),
        ("Fix  ../../refs/heads/main", "card/fix-refs-heads-main-3f2a9c1e"),
        ("登录页面", "card/3f2a9c1e"),
        ("", "card/3f2a9c1e"),
        (
            "Implement the export of invoices as PDF documents for accountants",
            "card/implement-the-export-of-invoices-as-pdf-3f2a9c1e",
        ),
        (
            "Supercalifragilisticexpialidociousnessandmorewordsinone word",
            "card/" + "supercalifragilisticexpialidociousnessan-3f2a9c1e",
        ),
    ],
)
def test_branch_names_come_from_the_title_and_the_card_id(title: str, branch: str) -> None:
    assert branch_for(CARD, title) == branch
    assert card_prefix_of(branch) == "3f2a9c1e"


def test_the_slug_never_exceeds_forty_characters_and_cuts_between_words() -> None:
    words = slug("alpha beta gamma delta epsilon zeta eta theta iota kappa")
    assert len(words) <= 40
    assert words == "alpha-beta-gamma-delta-epsilon-zeta-eta"


def test_other_branches_name_no_card() -> None:
    assert card_prefix_of("main") is None
    assert card_prefix_of("card/") is None
    assert card_prefix_of("feature/x-3f2a9c1e") is None
    assert card_prefix_of("card/x-3F2A9C1E") is None


async def test_every_branch_name_is_a_valid_git_ref() -> None:
    for title in ("Add a login page", "a..b", "-leading dash", "x.lock", "tail/", "@{", ""):
        await run_git("check-ref-format", "--branch", branch_for(uuid.uuid4(), title))
