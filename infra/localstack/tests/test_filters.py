from __future__ import annotations

import pytest
from agentworks_localstack.filters import FilterError, compile_filter


@pytest.mark.parametrize(
    ("expression", "attributes", "expected"),
    [
        ("", {}, True),
        ('attributes.type = "a"', {"type": "a"}, True),
        ('attributes.type = "a"', {"type": "b"}, False),
        ('attributes.type != "a"', {"type": "b"}, True),
        ('NOT attributes.type = "agent.run.log"', {"type": "agent.run.log"}, False),
        ('NOT attributes.type = "agent.run.log"', {"type": "agent.run.started"}, True),
        ('-attributes.type = "x"', {"type": "y"}, True),
        ('hasPrefix(attributes.type, "usage.budget_")', {"type": "usage.budget_warning"}, True),
        ('hasPrefix(attributes.type, "usage.budget_")', {"type": "usage.recorded"}, False),
        ('hasPrefix(attributes.type, "")', {}, False),
        ("attributes:trace", {"trace": ""}, True),
        ("attributes:trace", {}, False),
        ('attributes.a = "1" AND attributes.b = "2"', {"a": "1", "b": "2"}, True),
        ('attributes.a = "1" AND attributes.b = "2"', {"a": "1"}, False),
        ('attributes.a = "1" OR attributes.b = "2"', {"b": "2"}, True),
        ('(attributes.a = "1" OR attributes.a = "2") AND NOT attributes.c = "x"', {"a": "2", "c": "y"}, True),
        ('attributes.q = "say \\"hi\\""', {"q": 'say "hi"'}, True),
    ],
)
def test_filters_match_like_pubsub(expression: str, attributes: dict[str, str], expected: bool) -> None:
    assert compile_filter(expression)(attributes) is expected


@pytest.mark.parametrize(
    "expression",
    [
        'attributes.a = "1" AND attributes.b = "2" OR attributes.c = "3"',
        "attributes.a = 1",
        'data = "x"',
        'attributes.a > "1"',
        'attributes.a = "1" extra',
        "hasPrefix(attributes.a)",
        'attributes.a = "1" ~',
    ],
)
def test_invalid_filters_are_refused(expression: str) -> None:
    with pytest.raises(FilterError):
        compile_filter(expression)
