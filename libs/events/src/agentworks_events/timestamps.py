"""The one timestamp format of every API response and every event: RFC 3339 in UTC, microseconds, ``Z``.

Always six fractional digits (PostgreSQL's and Python's precision), so a moment reads the same wherever it
appears and whichever database stored it; SQLite hands timestamps back naive, and naive means UTC here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, PlainSerializer, WithJsonSchema

UTC_TEXT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"
"""What every serialised timestamp matches, e.g. ``2026-12-06T10:00:00.123456Z``."""

UTC_TEXT_SCHEMA = {"type": "string", "format": "date-time", "pattern": UTC_TEXT_PATTERN}


def as_utc(moment: datetime) -> datetime:
    """The same moment in UTC; a naive value is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """``moment`` as RFC 3339 UTC text with microseconds and ``Z``: ``2026-12-06T10:00:00.123456Z``."""
    return as_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


UtcDateTime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(utc_text, return_type=str, when_used="json"),
    WithJsonSchema(UTC_TEXT_SCHEMA),
]
"""A moment in an API response, serialised as ``utc_text``; naive values (from SQLite) are UTC."""

AwareUtcDateTime = Annotated[
    AwareDatetime,
    AfterValidator(as_utc),
    PlainSerializer(utc_text, return_type=str, when_used="json"),
    WithJsonSchema(UTC_TEXT_SCHEMA),
]
"""A moment in an event: like ``UtcDateTime``, but a value without an offset is refused."""
