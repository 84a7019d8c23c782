"""Where a project's repository lives, as the ``git`` CLI reaches it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GitRemote:
    """A URL (or local path) git can clone, fetch and push, and the HTTP ``Authorization`` header it needs
    (``git -c http.<url>.extraHeader=...``, sent to that URL only), if any. The header is a credential: never log it.

    A remote the platform does not run (a project's own forge) also carries the ``-c`` settings git must use to
    reach it (``config``: redirects refused, the address pinned), the protocols git may speak to it
    (``GIT_ALLOW_PROTOCOL``) and how long one git command may take before it is stopped."""

    url: str
    auth_header: str | None = None
    config: tuple[tuple[str, str], ...] = ()
    protocols: str | None = None
    timeout_seconds: float | None = None

    def __repr__(self) -> str:
        return f"GitRemote(url={self.url!r}, auth_header={'<set>' if self.auth_header else None})"
