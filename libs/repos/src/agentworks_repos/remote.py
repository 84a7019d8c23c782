"""Where a project's repository lives, as the ``git`` CLI reaches it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GitRemote:
    """A URL (or local path) git can clone, fetch and push, and the HTTP ``Authorization`` header it needs
    (``git -c http.extraHeader=...``), if any. The header is a credential: never log it."""

    url: str
    auth_header: str | None = None

    def __repr__(self) -> str:
        return f"GitRemote(url={self.url!r}, auth_header={'<set>' if self.auth_header else None})"
