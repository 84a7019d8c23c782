"""Card branch names: ``card/<slug of the title, at most 40 characters>-<first 8 hex of the card id>``."""

from __future__ import annotations

import re
import unicodedata
import uuid

BRANCH_PREFIX = "card/"
SLUG_LENGTH = 40
_BRANCH = re.compile(r"^card/(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?([0-9a-f]{8})$")


def slug(title: str, length: int = SLUG_LENGTH) -> str:
    """Lower-case ASCII words joined by hyphens, cut at a hyphen within ``length`` characters."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > length:
            if not out:
                out = word[:length]
            break
        out = candidate
    return out


def branch_for(card_id: uuid.UUID, title: str) -> str:
    """The card's branch: readable from its title, unique by its id (the title may change; the suffix does not)."""
    short = uuid.UUID(str(card_id)).hex[:8]
    words = slug(title)
    return f"{BRANCH_PREFIX}{words}-{short}" if words else f"{BRANCH_PREFIX}{short}"


def card_prefix_of(branch: str) -> str | None:
    """The 8 hex digits of the card id a card branch ends with, or None for any other branch."""
    match = _BRANCH.match(branch)
    return match.group(1) if match else None
