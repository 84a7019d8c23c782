"""Tables owned by log-stream: every log line once (run, seq), every transcript step once (run, step), each run's
status, and archive pointers."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from agentworks_platform.db import new_metadata
from agentworks_pubsub.tables import inbox_table
from sqlalchemy import JSON, DateTime, Index, Integer, PrimaryKeyConstraint, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class Base(DeclarativeBase):
    metadata = new_metadata()


metadata = Base.metadata
inbox = inbox_table(metadata)


class LogLineRow(Base):
    __tablename__ = "log_lines"
    __table_args__ = (PrimaryKeyConstraint("run_id", "seq"), Index("ix_log_lines_card", "card_id", "run_id", "seq"))
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    stream: Mapped[str] = mapped_column(String(8), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)


class RunLog(Base):
    """A run as the terminal sees it: status (only forward), how many lines it has, where its archive is."""

    __tablename__ = "run_logs"
    __table_args__ = (Index("ix_run_logs_card", "card_id", "created_at"),)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    last_seq: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    archive_uri: Mapped[str | None] = mapped_column(String(500))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the run did not run or did not finish: a skip's reason code, or a failure's error code, and in words.
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class RunStepRow(Base):
    """One completed step of a tool-using run as its transcript shows it: the model's prose and its tool calls.
    Steps are a run's second ordered stream beside its lines, numbered densely from 1 by the orchestrator."""

    __tablename__ = "run_steps"
    __table_args__ = (PrimaryKeyConstraint("run_id", "step"),)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    tool_calls: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)


class CardBoard(Base):
    """Which board a card is on (from card-events), so run status can reach live boards."""

    __tablename__ = "card_boards"
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    board_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)


class FanoutMessage(Base):
    """A board or status message waiting to be read back by every instance: notifications carry its id only,
    so a message of any size fans out (PostgreSQL limits a notification to 8,000 bytes)."""

    __tablename__ = "fanout_messages"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    topic: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
