"""Pub/Sub subscription filters over message attributes (the documented attribute grammar).

Supported: ``attributes.k = "v"``, ``attributes.k != "v"``, ``attributes:k``,
``hasPrefix(attributes.k, "v")``, ``NOT``/``-``, ``AND``, ``OR`` and parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Predicate = Callable[[Mapping[str, str]], bool]

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>!=|=|:|\(|\)|,|-)|(?P<word>[A-Za-z_][A-Za-z0-9_.\-]*))'
)


class FilterError(ValueError):
    """The filter expression is not valid."""


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise FilterError(f"unexpected character at {position}: {text[position : position + 10]!r}")
        tokens.append(match.group(match.lastgroup or "word"))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise FilterError(f"expected {expected or 'more input'} at token {self.index}")
        self.index += 1
        return token

    def expression(self) -> Predicate:
        terms = [self.unary()]
        operator: str | None = None
        while self.peek() in ("AND", "OR"):
            current = self.take()
            if operator and current != operator:
                raise FilterError("mixing AND and OR needs parentheses")
            operator = current
            terms.append(self.unary())
        if operator == "OR":
            return lambda attrs: any(term(attrs) for term in terms)
        return lambda attrs: all(term(attrs) for term in terms)

    def unary(self) -> Predicate:
        if self.peek() in ("NOT", "-"):
            self.take()
            inner = self.unary()
            return lambda attrs: not inner(attrs)
        if self.peek() == "(":
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        word = self.take()
        if word == "hasPrefix":
            self.take("(")
            key = _attribute(self.take())
            self.take(",")
            prefix = _string(self.take())
            self.take(")")
            return lambda attrs: attrs.get(key, "").startswith(prefix) and key in attrs
        if word == "attributes" and self.peek() == ":":
            self.take(":")
            has_key = self.take()
            return lambda attrs: has_key in attrs
        key = _attribute(word)
        operator = self.take()
        if operator not in ("=", "!="):
            raise FilterError(f"unsupported operator {operator!r}")
        value = _string(self.take())
        if operator == "=":
            return lambda attrs: attrs.get(key) == value
        return lambda attrs: attrs.get(key) != value


def _attribute(token: str) -> str:
    if not token.startswith("attributes.") or len(token) <= len("attributes."):
        raise FilterError(f"expected attributes.<key>, got {token!r}")
    return token[len("attributes.") :]


def _string(token: str) -> str:
    if len(token) < 2 or not token.startswith('"'):
        raise FilterError(f"expected a quoted string, got {token!r}")
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def compile_filter(text: str) -> Predicate:
    """Compile a filter; the empty filter accepts every message."""
    if not text.strip():
        return lambda _attrs: True
    parser = _Parser(text)
    predicate = parser.expression()
    if parser.peek() is not None:
        raise FilterError(f"unexpected {parser.peek()!r} after the expression")
    return predicate
