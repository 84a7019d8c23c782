"""The integer ranges of the SQL column types, so a number from a client is refused (422) rather than
overflowing a query or a write (a 500: SQLite refuses integers beyond 64 bits, PostgreSQL beyond the column)."""

from __future__ import annotations

INTEGER_MAX = 2**31 - 1
"""The largest ``Integer`` column value on PostgreSQL (``int4``)."""

BIGINT_MAX = 2**63 - 1
"""The largest ``BigInteger`` column value, and the largest integer SQLite binds."""


def within_bigint(value: int) -> int:
    """``value`` if a ``BigInteger`` column (and SQLite) can hold it, else ``ValueError``."""
    if not -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
        raise ValueError(f"{value} is out of range")
    return value
