"""The pattern the repository routes document for a ref stays inside what they accept: every name it admits is one
git accepts (``ref_problem``), but for a part ending in ".lock", which a regular expression without look-arounds
cannot exclude and the routes answer with 400 invalid_ref, as their description says."""

from __future__ import annotations

import re

from agentworks_orchestrator.code.git_view import REF_MAX_BYTES, REF_PATTERN, ref_problem
from hypothesis import given, settings
from hypothesis import strategies as st

DOCUMENTED = re.compile(REF_PATTERN)


@settings(max_examples=400, deadline=None)
@given(st.from_regex(REF_PATTERN, fullmatch=True).filter(lambda ref: len(ref) <= REF_MAX_BYTES))
def test_every_name_the_pattern_admits_is_one_git_accepts(ref: str) -> None:
    if any(part.endswith(".lock") for part in ref.split("/")):
        return
    assert ref_problem(ref) is None, ref


def test_the_pattern_admits_the_names_people_use_and_none_git_refuses() -> None:
    for name in ("main", "v1.2.3", "card/saved-cards-1a2b3c4d", "feature/#12_fix", "release-2026.12", "a1b2c3d"):
        assert DOCUMENTED.match(name), name
    refused = ("", "-x", "@", "a..b", "a@{1}", ".hidden", "a/.b", "a.", "a/", "/a", "a//b", "a b", "a~1", "a^", "a:b")
    for name in refused:
        assert not DOCUMENTED.match(name), name
        assert ref_problem(name) is not None, name
