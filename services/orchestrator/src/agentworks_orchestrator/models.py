"""Tables owned by the orchestrator: run executions (attempts, leases), the checkpoints of tool-using runs,
budget state, cards' branches, the commands agents ran in the sandbox, outbox and inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentworks_events.money import DEFAULT_INCREMENT, MINIMUM_MARKUP
from agentworks_platform.db import new_metadata
from agentworks_pubsub.tables import inbox_table, outbox_table
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class Base(DeclarativeBase):
    metadata = new_metadata()


metadata = Base.metadata
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

# "refused": a run refused before it started, as recorded before such runs were skipped.
TERMINAL = frozenset({"completed", "failed", "cancelled", "skipped", "refused"})
NOT_STARTED = ("skipped", "refused")
"""Ends of runs that called no provider: they do not count towards the hourly quota."""


class Run(Base):
    """One agent run; ``attempt`` grows when a run whose executor died is taken over after its lease."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_workspace_created", "workspace_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="card")
    lane_number: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(40), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    trigger_event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost: Mapped[Decimal] = mapped_column(Numeric(18, 10), nullable=False, default=Decimal(0))
    provider_calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    price: Mapped[Decimal] = mapped_column(Numeric(18, 10), nullable=False, default=Decimal(0))
    markup: Mapped[Decimal] = mapped_column(Numeric(18, 10), nullable=False, default=MINIMUM_MARKUP)
    increment: Mapped[Decimal] = mapped_column(Numeric(18, 10), nullable=False, default=DEFAULT_INCREMENT)
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class RunCheckpoint(Base):
    """The state of a tool-using run after one completed step: the conversation so far (tool results included)
    and what the run has spent. An executor taking the run over resumes after the newest one."""

    __tablename__ = "run_checkpoints"
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    cost: Mapped[Decimal] = mapped_column(Numeric(18, 10), nullable=False)
    provider_calls: Mapped[int] = mapped_column(Integer, nullable=False)
    elapsed_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class BudgetState(Base):
    """What billing last said about a workspace's (or project's) budget this period."""

    __tablename__ = "budget_state"
    scope_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    period: Mapped[str] = mapped_column(String(7), nullable=False)
    exceeded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CardBranch(Base):
    """A card's branch in its project's repository: named once (from the card's title then), started from
    ``base_sha`` of the default branch; a merge through the API records the default branch before and after."""

    __tablename__ = "card_branches"
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    branch: Mapped[str] = mapped_column(String(255), nullable=False)
    base_sha: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    merged_sha: Mapped[str | None] = mapped_column(String(64))
    merged_base_sha: Mapped[str | None] = mapped_column(String(64))
    merged_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProjectRemote(Base):
    """A project connected to a git remote of its own instead of the platform's repository: its URL and the user
    name sent with the token; the token itself is the secret ``secret_name`` of the secrets port, never a column."""

    __tablename__ = "project_remotes"
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    username: Mapped[str] = mapped_column(String(255), nullable=False)
    secret_name: Mapped[str] = mapped_column(String(255), nullable=False)
    connected_by: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    connected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CommandRunRow(Base):
    """A command an agent ran in the sandbox on a card's working copy: what it ran, its exit code and the tail of
    its output. ``call`` is ``<step>/<call id>``: a step done again on resume records its command once."""

    __tablename__ = "command_runs"
    __table_args__ = (
        UniqueConstraint("run_id", "call"),
        Index("ix_command_runs_card_started", "card_id", "started_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    call: Mapped[str] = mapped_column(String(200), nullable=False)
    command: Mapped[str] = mapped_column(Text, nullable=False)
    exit_code: Mapped[int] = mapped_column(Integer, nullable=False)
    output_tail: Mapped[str] = mapped_column(Text, nullable=False)
    truncated: Mapped[bool] = mapped_column(Boolean, nullable=False)
    timed_out: Mapped[bool] = mapped_column(Boolean, nullable=False)
    killed_reason: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
