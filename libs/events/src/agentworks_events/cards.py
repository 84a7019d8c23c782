"""card-events: published by core whenever a card changes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, TypeAdapter

from agentworks_events.base import AgentKey, Event, Frozen, NonNegative

Priority = Literal["none", "low", "medium", "high", "urgent"]
CardType = Literal["epic", "story", "task", "bug", "spike"]
Criterion = Annotated[str, Field(min_length=1, max_length=500)]
"""One acceptance criterion of a card."""
CRITERIA_MAX, CHECKLIST_MAX, LABELS_MAX = 50, 100, 20


class ChecklistItem(Frozen):
    """One line of a card's checklist."""

    text: Annotated[str, Field(min_length=1, max_length=500)]
    done: bool = False


class CardFields(BaseModel):
    """A card's own fields, the ones people and agents set. Every shape of a card inherits them (the snapshot
    in card events here; core's card, its create body and the board's rows), so a new field is declared once."""

    title: str
    description: str = ""
    card_type: str = "task"
    priority: Priority = "none"
    assignee_id: UUID | None = Field(default=None, description="The person of the workspace the card is assigned to.")
    assignee_agent: AgentKey | None = Field(
        default=None, description="The agent of the project the card is assigned to (a card has one assignee)."
    )
    parent_id: UUID | None = None
    acceptance_criteria: tuple[Criterion, ...] = Field(default=(), max_length=CRITERIA_MAX)
    checklist: tuple[ChecklistItem, ...] = Field(default=(), max_length=CHECKLIST_MAX)
    label_ids: tuple[UUID, ...] = Field(default=(), max_length=LABELS_MAX, description="Labels of the card's project.")
    due_date: date | None = None


class CardSnapshot(Frozen, CardFields):
    """The card as it stands after the change."""

    card_id: UUID
    board_id: UUID
    lane_id: UUID
    lane_number: NonNegative
    position: NonNegative
    human_id: str = Field(default="", description="The card's short id in its project, such as SHOP-42.")


class CardEventBase(Event):
    card_id: UUID
    actor_id: UUID | None = Field(default=None, description="User who caused it; None for agents/system.")

    @property
    def ordering_key(self) -> str:
        return str(self.card_id)


class CardCreated(CardEventBase):
    """Fires when a card is created, by a person or as a child card from an agent's artifacts."""

    type: Literal["card.created"] = "card.created"
    card: CardSnapshot
    created_by_run_id: UUID | None = None


class CardUpdated(CardEventBase):
    """Fires when a card's own fields (those of ``CardFields``) change without a move."""

    type: Literal["card.updated"] = "card.updated"
    card: CardSnapshot
    changed_fields: tuple[str, ...]


class CardMoved(CardEventBase):
    """Fires when a card changes position, within its lane or into another lane (which starts agents)."""

    type: Literal["card.moved"] = "card.moved"
    board_id: UUID
    from_lane_id: UUID
    from_lane_number: NonNegative
    to_lane_id: UUID
    to_lane_number: NonNegative
    from_position: NonNegative
    to_position: NonNegative
    card: CardSnapshot

    @property
    def changed_lane(self) -> bool:
        return self.from_lane_id != self.to_lane_id


class CardDeleted(CardEventBase):
    """Fires when a card is deleted; its runs are cancelled and its history kept."""

    type: Literal["card.deleted"] = "card.deleted"
    board_id: UUID
    lane_id: UUID


class CardArchived(CardEventBase):
    """Fires when a person archives a card: it leaves its lane's board (its place is kept for an unarchive)."""

    type: Literal["card.archived"] = "card.archived"
    board_id: UUID
    lane_id: UUID


class CardUnarchived(CardEventBase):
    """Fires when a person restores an archived card to the lane it left."""

    type: Literal["card.unarchived"] = "card.unarchived"
    card: CardSnapshot


class CardRunRequested(CardEventBase):
    """Fires when a user asks for one agent to run on a card manually (run or re-run)."""

    type: Literal["card.run_requested"] = "card.run_requested"
    agent: AgentKey
    lane_number: NonNegative
    rerun_of: UUID | None = Field(default=None, description="The run being re-run, if any.")
    instructions: str = Field(
        default="",
        description="What the person asked for (a run's note, a rejection's comment, a comment naming the agent); "
        "the agent reads it as a teammate's request, never as its own rules.",
    )


class CardApproved(CardEventBase):
    """Fires when a person approves a run's result at an approval gate."""

    type: Literal["card.approved"] = "card.approved"
    run_id: UUID
    comment: str = ""


class CardRejected(CardEventBase):
    """Fires when a person rejects a run's result at an approval gate."""

    type: Literal["card.rejected"] = "card.rejected"
    run_id: UUID
    comment: str = ""


class ProjectDeleted(Event):
    """Fires when an owner deletes a project, with its board and cards (no ``card.deleted`` for each), and for each
    project of a workspace an owner deletes: the orchestrator then removes the project's repository and its records
    of the cards' branches and commands."""

    type: Literal["project.deleted"] = "project.deleted"
    actor_id: UUID | None = Field(default=None, description="User who deleted it.")

    @property
    def ordering_key(self) -> str:
        return str(self.project_id)


NotificationKind = Literal[
    "mention", "run_finished", "run_failed", "approval_requested", "budget_warning", "budget_exceeded"
]


class NotificationCreated(CardEventBase):
    """Fires when core puts a notification about a card in one person's inbox (a mention, a run that finished or
    failed, an approval asked for). Addressed to ``recipient_id`` alone: log-stream relays it only to that
    person's board sockets in the event's workspace."""

    type: Literal["notification.created"] = "notification.created"
    notification_id: UUID
    recipient_id: UUID
    kind: NotificationKind
    title: Annotated[str, Field(max_length=300)]
    body: Annotated[str, Field(max_length=500)] = ""


CardEvent = Annotated[
    CardCreated
    | CardUpdated
    | CardMoved
    | CardDeleted
    | CardArchived
    | CardUnarchived
    | CardRunRequested
    | CardApproved
    | CardRejected
    | NotificationCreated
    | ProjectDeleted,
    Field(discriminator="type"),
]
CARD_EVENT_ADAPTER: TypeAdapter[CardEvent] = TypeAdapter(CardEvent)
