"""Tables owned by the core service: the system of record for the board and everything on it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from agentworks_platform.db import new_metadata
from agentworks_pubsub.tables import inbox_table, outbox_table
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    false,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, Session, mapped_column, object_session
from sqlalchemy.sql.elements import ColumnElement

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class Base(DeclarativeBase):
    metadata = new_metadata()


metadata = Base.metadata
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

TENANT_TABLES = (
    "workspaces",
    "members",
    "projects",
    "boards",
    "lanes",
    "cards",
    "agent_configs",
    "documents",
    "document_versions",
    "audit_log",
    "agent_runs",
    "run_effects",
    "card_comments",
    "card_images",
    "card_watchers",
    "notifications",
    "labels",
    "card_attachments",
)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _workspace() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True)


class ResourceIndex(Base):
    """Which workspace owns a resource id: resolves the tenant before any tenant-scoped query."""

    __tablename__ = "resource_index"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    created_at: Mapped[datetime] = _now()


class Member(Base):
    """A person's role in a workspace; ``user_id`` is set once the invited person accepts their invitation."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "email"), Index("ix_members_user", "user_id"))
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = _now()


class Invitation(Base):
    """The secret link that lets an invited person take up a pending membership: only the SHA-256 of its token
    is kept. Like ``resource_index`` it resolves the tenant (from the token) before any tenant-scoped query."""

    __tablename__ = "invitations"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("members.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _now()


class Project(Base):
    """A project. ``key`` (unique in its workspace) prefixes its cards' short ids (``SHOP-42``); ``card_sequence``
    is the number its last card was given."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    key: Mapped[str] = mapped_column(String(10), nullable=False)
    card_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    created_at: Mapped[datetime] = _now()


class Label(Base):
    """A coloured label of a project; cards hold the ids of theirs (``Card.label_ids``)."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    color: Mapped[str] = mapped_column(String(7), nullable=False)
    created_at: Mapped[datetime] = _now()


class Board(Base):
    """A project's board. ``revision`` grows with every change to its lanes, cards or their runs (see
    ``_note_change`` and ``_bump_revisions`` below): a rendered board is current exactly while the revision
    it was read at is."""

    __tablename__ = "boards"
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = _now()
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class Lane(Base):
    """A column. ``number`` is the stage agents are mapped to; ``position`` is the display order."""

    __tablename__ = "lanes"
    __table_args__ = (UniqueConstraint("board_id", "number"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    board_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    wip_limit: Mapped[int | None] = mapped_column(Integer)
    requires_approval: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())


class Card(Base):
    """A card. Its lane shows it in ``(order_key, id)`` order (see ``cards/order.py``); its position, the index
    the API and events speak of, is counted from that order when read."""

    __tablename__ = "cards"
    __table_args__ = (
        Index("ix_cards_lane_order", "lane_id", "order_key", "id"),
        UniqueConstraint("project_id", "number"),
    )
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    board_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    lane_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("lanes.id"), nullable=False)
    order_key: Mapped[int] = mapped_column(BigInteger, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    card_type: Mapped[str] = mapped_column(String(16), nullable=False, default="task")
    priority: Mapped[str] = mapped_column(String(16), nullable=False, default="none", server_default="none")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("cards.id", ondelete="SET NULL"), index=True)
    acceptance_criteria: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list, server_default="[]")
    checklist: Mapped[list[dict[str, object]]] = mapped_column(JSON, nullable=False, default=list, server_default="[]")
    assignee_agent: Mapped[str | None] = mapped_column(String(40))
    label_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list, server_default="[]")
    due_date: Mapped[date | None] = mapped_column(Date)
    # The card's number in its project (from ``Project.card_sequence``) and its short id, ``<key>-<number>``.
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    human_id: Mapped[str] = mapped_column(String(24), nullable=False)
    # Set while the card is archived: it is off its lane (and every count of it) but keeps its key to return to.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class AgentConfig(Base):
    """A project's override of an agent's provider, model and whether it runs at all."""

    __tablename__ = "agent_configs"
    __table_args__ = (UniqueConstraint("project_id", "agent"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("projects.id", ondelete="CASCADE"))
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    provider: Mapped[str] = mapped_column(String(40), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    enabled: Mapped[bool] = mapped_column(nullable=False, default=True)
    updated_at: Mapped[datetime] = _now()


class Document(Base):
    """A document's head: a project's own (``card_id`` None) or one card's, each with its own lineage per kind."""

    __tablename__ = "documents"
    __table_args__ = (
        Index(
            "uq_documents_project_kind",
            "project_id",
            "kind",
            unique=True,
            sqlite_where=text("card_id IS NULL"),
            postgresql_where=text("card_id IS NULL"),
        ),
        Index(
            "uq_documents_card_kind",
            "card_id",
            "kind",
            unique=True,
            sqlite_where=text("card_id IS NOT NULL"),
            postgresql_where=text("card_id IS NOT NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("projects.id", ondelete="CASCADE"))
    # No foreign key: a deleted card's documents stay, as its runs do.
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    latest_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = _now()


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "version"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    document_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("documents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    content_type: Mapped[str] = mapped_column(String(64), nullable=False)
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = _now()


class AuditEntry(Base):
    """One state change: who did what to which resource, with a before/after summary."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_workspace_time", "workspace_id", "created_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(32), nullable=False)
    resource_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    before: Mapped[dict[str, object] | None] = mapped_column(JSON)
    after: Mapped[dict[str, object] | None] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    client_ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = _now()


class AgentRun(Base):
    """The projection of one run from agent-runs events; status only moves forward."""

    __tablename__ = "agent_runs"
    __table_args__ = (Index("ix_agent_runs_card", "card_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="card")
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost: Mapped[Decimal] = mapped_column(Numeric(18, 10), nullable=False, default=Decimal(0))
    price: Mapped[Decimal] = mapped_column(Numeric(18, 10), nullable=False, default=Decimal(0))
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    error_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a completed run waits at its lane's approval gate: pending, then approved or rejected.
    approval: Mapped[str | None] = mapped_column(String(16))
    approval_comment: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    steps: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    stopped_at_limit: Mapped[str | None] = mapped_column(String(16))


class AppliedEffect(Base):
    """An effect of a run's step, claimed once by its key before it is applied: a redelivered or replayed step
    finds its effects here and changes nothing twice. ``outcome``: applied, skipped (its card was deleted),
    awaiting_approval (a move request at a gated lane), declined (that request, rejected) or refused."""

    __tablename__ = "run_effects"
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    outcome: Mapped[str] = mapped_column(String(24), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = _now()


class CardComment(Base):
    """A comment on a card, by a person (``author_id``) or by an agent's run (``agent``, ``run_id``). Deleting one
    keeps its row with an empty body (``deleted_at``), so the thread shows where it was."""

    __tablename__ = "card_comments"
    __table_args__ = (Index("ix_card_comments_card", "card_id", "created_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cards.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str | None] = mapped_column(String(40))
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _now()
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class CardWatcher(Base):
    """A person's choice about a card's notifications: ``watching`` true follows it, false mutes it even when the
    person created it or is its assignee (who follow it otherwise)."""

    __tablename__ = "card_watchers"
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    watching: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = _now()


class Notification(Base):
    """One entry of a person's inbox in a workspace; ``read_at`` is set once they have read it. ``card_id`` has no
    foreign key: the entry outlives a deleted card, as its runs do."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient", "workspace_id", "recipient_id", "created_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    recipient_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    comment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = _now()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CardImage(Base):
    """An image a run generated for a card: the blob's name under the workspace, with its prompt."""

    __tablename__ = "card_images"
    __table_args__ = (Index("ix_card_images_card", "card_id", "created_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cards.id", ondelete="CASCADE"), nullable=False)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    agent: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    prompt: Mapped[str] = mapped_column(Text, nullable=False, default="")
    content_type: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = _now()


class CardAttachment(Base):
    """A file people attached to a card: its bytes are the blob ``blob_name`` under the card's workspace."""

    __tablename__ = "card_attachments"
    __table_args__ = (Index("ix_card_attachments_card", "card_id", "created_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _workspace()
    card_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cards.id", ondelete="CASCADE"), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    blob_name: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = _now()


TOUCHED_BOARDS, TOUCHED_CARDS, TOUCHED_PROJECTS = "touched_boards", "touched_cards", "touched_projects"


def _note_change(
    _mapper: Mapper[object], _connection: Connection, target: Lane | Card | AgentRun | Label | Project
) -> None:
    """Every flushed insert, update or delete of a lane, a card, a card's run, a label or a project (its key names
    the cards) marks its board as changed, whichever code path made the change; ``_bump_revisions`` moves the
    revisions on when the transaction commits."""
    session = object_session(target)
    if session is None:
        return
    if isinstance(target, Label | Project):
        session.info.setdefault(TOUCHED_PROJECTS, set()).add(
            target.project_id if isinstance(target, Label) else target.id
        )
        return
    if isinstance(target, AgentRun):
        if target.card_id is not None:
            session.info.setdefault(TOUCHED_CARDS, set()).add(target.card_id)
        return
    session.info.setdefault(TOUCHED_BOARDS, set()).add(target.board_id)


def _bump_revisions(session: Session) -> None:
    """At commit, after the last flush: the board rows are locked only for the commit itself, so writers of
    different lanes of one board do not queue behind each other for the whole of their transactions."""
    if session.in_nested_transaction():
        return  # a savepoint's release: the changes it holds are counted when the transaction commits
    session.flush()  # what commit does next anyway; it records the changes still pending
    if not any(touched in session.info for touched in (TOUCHED_BOARDS, TOUCHED_CARDS, TOUCHED_PROJECTS)):
        return
    boards: set[uuid.UUID] = session.info.pop(TOUCHED_BOARDS, set())
    cards: set[uuid.UUID] = session.info.pop(TOUCHED_CARDS, set())
    projects: set[uuid.UUID] = session.info.pop(TOUCHED_PROJECTS, set())
    condition: ColumnElement[bool] = Board.id.in_(sorted(boards))
    if cards:
        condition = condition | Board.id.in_(select(Card.board_id).where(Card.id.in_(sorted(cards))))
    if projects:
        condition = condition | Board.project_id.in_(sorted(projects))
    session.connection().execute(update(Board).where(condition).values(revision=Board.revision + 1))


def _forget_changes(session: Session, _previous: object = None) -> None:
    for touched in (TOUCHED_BOARDS, TOUCHED_CARDS, TOUCHED_PROJECTS):
        session.info.pop(touched, None)


for _model in (Lane, Card, AgentRun, Label, Project):
    for _change in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _change, _note_change)
event.listen(Session, "before_commit", _bump_revisions)
event.listen(Session, "after_rollback", _forget_changes)
