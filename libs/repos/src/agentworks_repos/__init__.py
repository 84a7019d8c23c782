"""The repository host port: where each project's git repository lives.

``LocalRepositoryHost`` (bare repositories under the fleet's data directory) in dev and tests,
``SecureSourceManagerHost`` in production; a project may instead be connected to a remote of its own.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from agentworks_repos.embedded import (
    DEFAULT_BRANCH,
    DEFAULT_MAX_PUSH_BYTES,
    FLEET_IDENTITY,
    LocalRepositoryHost,
    receive_env,
)
from agentworks_repos.git import GitError, GitResult, git_env, git_text, run_git
from agentworks_repos.remote import GitRemote
from agentworks_repos.ssm import RepositoryHostError, SecureSourceManagerHost, repository_id


class RepositoryHost(Protocol):
    """Creates and locates project repositories. ``kind`` names the host (``embedded`` or ``ssm``)."""

    kind: str

    async def ensure(self, project_id: uuid.UUID) -> GitRemote:
        """The project's repository, created on first use with ``main`` holding an initial commit (idempotent)."""
        ...

    async def remote(self, project_id: uuid.UUID) -> GitRemote:
        """How git reaches the project's repository (which may not exist yet: see :meth:`ensure`)."""
        ...

    async def delete(self, project_id: uuid.UUID) -> None:
        """Remove the project's repository for good; a repository already gone is no error (idempotent)."""
        ...


__all__ = [
    "DEFAULT_BRANCH",
    "DEFAULT_MAX_PUSH_BYTES",
    "FLEET_IDENTITY",
    "GitError",
    "GitRemote",
    "GitResult",
    "LocalRepositoryHost",
    "RepositoryHost",
    "RepositoryHostError",
    "SecureSourceManagerHost",
    "git_env",
    "git_text",
    "receive_env",
    "repository_id",
    "run_git",
]
