"""The wire fakes refuse what the real APIs refuse: the requests the old adapters sent fail here."""

from __future__ import annotations

from typing import Any

import pytest

from . import wire_rules


def claude(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-5", "max_tokens": 10, "messages": list(messages), **extra}


def use(tool_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": "lookup", "input": {}}


def result(tool_id: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": "ok"}


ASK = {"role": "user", "content": "Find it"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (claude(ASK, temperature=0.5), "temperature: Extra inputs are not permitted"),
        (claude(ASK, {"role": "assistant", "content": []}), "non-empty content"),
        (claude({"role": "user", "content": [{"type": "text", "text": ""}]}), "must be non-empty"),
        (
            claude(
                ASK,
                {"role": "assistant", "content": [use("call_0")]},
                {"role": "user", "content": [result("call_0")]},
                {"role": "assistant", "content": [use("call_0")]},
                {"role": "user", "content": [result("call_0")]},
            ),
            "ids must be unique",
        ),
        (
            claude(
                ASK, {"role": "assistant", "content": [use("a"), use("b")]}, {"role": "user", "content": [result("a")]}
            ),
            "without `tool_result` blocks immediately after: b",
        ),
        (claude(ASK, {"role": "user", "content": [result("x")]}), "roles must alternate"),
        (claude(ASK, tool_choice={"type": "tool", "name": "lookup"}), "no tool named"),
    ],
)
def test_anthropic_rules(body: dict[str, Any], problem: str) -> None:
    assert problem in (wire_rules.anthropic(body) or "")


def test_a_valid_anthropic_conversation_passes() -> None:
    body = claude(
        ASK,
        {"role": "assistant", "content": [{"type": "text", "text": "Looking"}, use("a"), use("b")]},
        {"role": "user", "content": [result("a"), result("b"), {"type": "text", "text": "thanks"}]},
    )
    assert wire_rules.anthropic(body) is None


def gemini(*contents: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"contents": list(contents), **extra}


CALL_TWICE = {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {}}}] * 2}


def answer(name: str) -> dict[str, Any]:
    return {"functionResponse": {"name": name, "response": {"output": "ok"}}}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            gemini(
                {"role": "user", "parts": [{"text": "hi"}]}, CALL_TWICE, {"role": "user", "parts": [answer("lookup")]}
            ),
            "number of function response parts is equal",
        ),
        (
            gemini(
                {"role": "user", "parts": [{"text": "hi"}]},
                CALL_TWICE,
                {"role": "user", "parts": [answer("tool"), answer("tool")]},
            ),
            "do not match the function calls",
        ),
        (gemini({"role": "user", "parts": []}), "must not be empty"),
        (gemini({"role": "user", "parts": [{"text": "hi"}]}, generationConfig={"logitBias": {}}), "Unknown name"),
        (
            gemini(
                {"role": "user", "parts": [{"text": "hi"}]},
                toolConfig={"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["lookup"]}},
            ),
            "allowed_function_names",
        ),
    ],
)
def test_gemini_rules(body: dict[str, Any], problem: str) -> None:
    assert problem in (wire_rules.gemini(body) or "")


def test_openai_rules() -> None:
    ask = {"role": "user", "content": "hi"}
    assert "Unrecognized" in (wire_rules.openai({"model": "m", "messages": [ask], "frobnicate": 1}) or "")
    orphan = {"role": "tool", "tool_call_id": "call_1", "content": "ok"}
    assert "preceeding message" in (wire_rules.openai({"model": "m", "messages": [ask, orphan]}) or "")
    assert "only allowed when 'tools'" in (
        wire_rules.openai({"model": "m", "messages": [ask], "parallel_tool_calls": False}) or ""
    )
