"""Opaque cursors for keyset pagination: the sort key of the last row, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from agentworks_platform.bounds import within_bigint
from agentworks_platform.errors import AppError

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    """A page of results; pass ``next_cursor`` back as ``cursor`` for the next one (null at the end)."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; absent on the last page.")


def encode_cursor(*key: Any) -> str:
    raw = json.dumps([str(part) for part in key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, parsers: Sequence[Callable[[str], Any]]) -> tuple[Any, ...] | None:
    """Decode a cursor made by ``encode_cursor``, parsing each part; a bad one is a 400, never a 500."""
    if not cursor:
        return None
    invalid = AppError("The cursor is not valid; start again without one.", code="invalid_cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(parsers):
            raise invalid
        parsed = tuple(parse(str(value)) for parse, value in zip(parsers, values, strict=True))
        for part in parsed:
            if isinstance(part, int):
                within_bigint(part)
            if isinstance(part, str) and "\x00" in part:  # it would reach a query as text
                raise invalid
        return parsed
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError):
        raise invalid from None
