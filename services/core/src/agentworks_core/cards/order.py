"""Order keys: a lane shows its cards by ``(order_key, id)``, so placing a card writes only that card's key.

A key is a 64-bit integer strictly between ``LOW`` and ``HIGH``. A card placed between two others takes a key in
the middle half of the gap between theirs, at random, so that concurrent moves to the same place almost never
tie (a tie is still ordered, by id); at either end it steps about ``SPACING`` past the outermost card. When two
neighbours leave no integer between them (after a few dozen placements into the same gap, or between two cards
that did tie), the lane is re-keyed: its cards are spread ``SPACING`` apart again in their current order. Keys therefore
never grow past 64 bits, and a re-key, which writes every card of the lane, is the rare case.
"""

from __future__ import annotations

import secrets

LOW = 0
HIGH = 1 << 62
SPACING = 1 << 32
START = 1 << 61
"""Where a spread lane's first key goes: mid-range, so both ends have room to grow."""


def key_between(before: int | None, after: int | None) -> int | None:
    """A key strictly between ``before`` and ``after`` (None: that end of the lane), or None when there is none."""
    if before is None and after is None:
        return START
    low = LOW if before is None else before
    high = HIGH if after is None else after
    if after is None and high - low > 2 * SPACING:
        return low + SPACING // 2 + secrets.randbelow(SPACING)
    if before is None and high - low > 2 * SPACING:
        return high - SPACING // 2 - secrets.randbelow(SPACING)
    if high - low < 2:
        return None
    quarter = (high - low) // 4
    return low + max(quarter, 1) + secrets.randbelow(max(high - low - 2 * quarter - 1, 1))


def spread(count: int) -> list[int]:
    """Keys for ``count`` cards in order, ``SPACING`` apart from ``START`` (closer if a lane ever outgrew that)."""
    step = min(SPACING, (HIGH - START) // (count + 1))
    return [START + index * step for index in range(count)]
