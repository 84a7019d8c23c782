"""The one way services read the time: timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive (they were stored as UTC); PostgreSQL hands them back aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
