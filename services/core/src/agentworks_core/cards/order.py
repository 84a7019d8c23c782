"""Order keys: a lane shows its cards by ``(order_key, id)``, so placing a card writes only that card's key.

A key is a 64-bit integer strictly between ``LOW`` and ``HIGH``. A card placed between two others takes the
midpoint of their keys; at either end it steps ``SPACING`` past the outermost card. When two neighbours leave no
integer between them (about 32 placements into the same gap, or two cards that concurrent moves gave the same
key), the lane is re-keyed: its cards are spread ``SPACING`` apart again in their current order. Keys therefore
never grow past 64 bits, and a re-key, which writes every card of the lane, is the rare case.
"""

from __future__ import annotations

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
    if after is None and low + SPACING < high:
        return low + SPACING
    if before is None and high - SPACING > low:
        return high - SPACING
    if high - low < 2:
        return None
    return (low + high) // 2


def spread(count: int) -> list[int]:
    """Keys for ``count`` cards in order, ``SPACING`` apart from ``START`` (closer if a lane ever outgrew that)."""
    step = min(SPACING, (HIGH - START) // (count + 1))
    return [START + index * step for index in range(count)]
