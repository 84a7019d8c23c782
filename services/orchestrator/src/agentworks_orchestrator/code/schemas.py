"""What the code endpoints answer: a project's repository, a directory or file of a ref, a card's code, a merge,
the commands agents ran on a card."""

from __future__ import annotations

import uuid
from typing import Literal

from agentworks_events import UtcDateTime
from pydantic import BaseModel, ConfigDict, Field, RootModel, SecretStr


class BranchOut(BaseModel):
    """A branch of the repository, the card it belongs to (if it is a card's), and how it stands against the
    default branch."""

    name: str
    sha: str
    card_id: uuid.UUID | None
    ahead: int = Field(description="Commits the branch has that the default branch lacks.")
    behind: int = Field(description="Commits the default branch has that the branch lacks.")


class ConnectedRemoteOut(BaseModel):
    """The git remote of the project's own that it is connected to (its token is never answered)."""

    model_config = ConfigDict(from_attributes=True)
    url: str
    username: str = Field(description="The user name sent with the token (HTTP Basic).")
    connected_at: UtcDateTime
    connected_by: uuid.UUID


class RepositoryOut(BaseModel):
    """A project's repository: where to clone it from and its branches."""

    project_id: uuid.UUID
    default_branch: str
    clone_url: str = Field(
        description="The gateway's git URL (HTTP Basic auth, a workspace API key as password), or the connected "
        "remote's URL (its forge's own credentials)."
    )
    remote_kind: Literal["hosted", "connected"]
    remote: ConnectedRemoteOut | None = Field(description="The connected remote, when the project has one.")
    head_sha: str = Field(description="The default branch's newest commit.")
    branches: list[BranchOut]


class EntryOut(BaseModel):
    name: str
    path: str
    type: Literal["dir", "file", "symlink", "submodule"]
    size: int | None = Field(description="Bytes of a file; None for a directory or submodule.")


class FilesOut(BaseModel):
    """A directory of a ref (its entries, directories first) or a file of it (its text, bounded)."""

    ref: str
    commit: str
    path: str
    kind: Literal["dir", "file"]
    entries: list[EntryOut]
    content: str | None = Field(description="A file's text (None for a directory or a binary file).")
    binary: bool
    truncated: bool


class CommitOut(BaseModel):
    sha: str
    message: str
    author: str
    run_id: uuid.UUID | None = Field(description="The agent run that made the commit (its AgentWorks-Run trailer).")
    committed_at: UtcDateTime
    card: str | None = Field(
        default=None,
        description="The short id (SHOP-42) of the card an agent's commit is for (its AgentWorks-Card trailer); None "
        "for commits without it (people's, and agents' from before they carried it).",
    )


class ChangedFileOut(BaseModel):
    path: str
    status: Literal["added", "modified", "deleted", "typechange"]
    additions: int | None = Field(description="Lines added; None for a binary file.")
    deletions: int | None = Field(description="Lines deleted; None for a binary file.")


class CardCodeOut(BaseModel):
    """A card's branch against the default branch: its commits, changed files and unified diff (bounded), and
    whether it is merged or could be now."""

    card_id: uuid.UUID
    branch: str
    base: str
    exists: bool = Field(description="Whether the branch exists yet (it does once an agent or a person pushed it).")
    commits: list[CommitOut]
    files: list[ChangedFileOut]
    diff: str
    truncated: bool = Field(description="The diff was cut at the size limit; clone the branch for the rest.")
    merged: bool
    merged_sha: str | None
    mergeable: bool = Field(description="Unmerged work that merges into the default branch without conflicts.")
    conflicts: list[str] = Field(description="Files a merge would conflict in now.")


class RemoteIn(BaseModel):
    """A git remote of the project's own to connect instead of the platform's repository."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(
        min_length=1, max_length=2048, description="The repository's https URL, without credentials in it."
    )
    token: SecretStr = Field(
        min_length=1,
        max_length=4096,
        description="An access token that may read and push the repository; kept as a secret, never answered.",
    )
    username: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._@+-]+$",
        description="The user name sent with the token (HTTP Basic); x-access-token unless the forge needs another.",
    )


class MergeOut(BaseModel):
    merged_sha: str


class CommandRunOut(BaseModel):
    """A command an agent ran in the sandbox on the card's working copy."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    run_id: uuid.UUID
    agent: str
    command: str
    exit_code: int
    output_tail: str
    truncated: bool
    timed_out: bool
    killed_reason: str | None = Field(description="Why a limit stopped it: timeout, cpu_time, file_size, killed.")
    duration_ms: int
    started_at: UtcDateTime


class CommandRunsOut(RootModel[list[CommandRunOut]]):
    """A card's command runs, newest first."""
