"""agent-runs: published by the orchestrator as an agent run progresses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, get_args
from uuid import UUID, uuid5

from pydantic import BeforeValidator, Field, TypeAdapter

from agentworks_events.base import AgentKey, Event, Frozen, Money, NonNegative
from agentworks_events.cards import CardType
from agentworks_events.timestamps import AwareUtcDateTime

RunKind = Literal["card", "console"]
LogStream = Literal["stdout", "stderr", "system"]


class RunEventBase(Event):
    run_id: UUID
    card_id: UUID | None = Field(default=None, description="None for CoPilot console runs.")
    agent: AgentKey
    attempt: Annotated[int, Field(ge=1)] = 1

    @property
    def ordering_key(self) -> str:
        return str(self.run_id)


class RunTokens(Frozen):
    """Token and image counts summed over every provider call of a run."""

    input_tokens: NonNegative = 0
    output_tokens: NonNegative = 0
    images: NonNegative = 0


class DocumentArtifact(Frozen):
    """A new version of a project document written by the run."""

    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    title: str
    content: str
    content_type: str = "text/markdown"


def _known_card_type(value: object) -> object:
    """A model's answer may name any type; one the board does not know becomes a task rather than a refusal."""
    return value if value in get_args(CardType) else "task"


class ChildCardArtifact(Frozen):
    """A task card the run asks core to create under the triggering card."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    card_type: Annotated[CardType, BeforeValidator(_known_card_type)] = "task"
    lane_number: NonNegative | None = Field(default=None, description="None keeps the parent's board default.")


class RunArtifacts(Frozen):
    documents: tuple[DocumentArtifact, ...] = ()
    child_cards: tuple[ChildCardArtifact, ...] = ()
    summary: str = ""


class LogLine(Frozen):
    """One terminal line. ``seq`` is dense from 1 per run, so consumers can order and de-duplicate."""

    seq: Annotated[int, Field(ge=1)]
    at: AwareUtcDateTime
    stream: LogStream = "stdout"
    text: str


class AgentRunStarted(RunEventBase):
    """Fires when an attempt of a run begins, before the first provider call."""

    type: Literal["agent.run.started"] = "agent.run.started"
    kind: RunKind = "card"
    lane_number: NonNegative | None = None
    provider: str
    model: str
    trigger_event_id: UUID
    requested_by: UUID | None = None


class AgentRunLog(RunEventBase):
    """Fires for each batch of output lines while a run streams; batches may arrive out of order."""

    type: Literal["agent.run.log"] = "agent.run.log"
    lines: tuple[LogLine, ...] = Field(min_length=1)


class AgentRunCompleted(RunEventBase):
    """Fires once when a run finishes successfully, with its usage, price and artifacts."""

    type: Literal["agent.run.completed"] = "agent.run.completed"
    provider: str
    model: str
    tokens: RunTokens
    cost: Money
    price: Money
    duration_ms: NonNegative
    last_seq: NonNegative
    artifacts: RunArtifacts
    requires_approval: bool = False


class AgentRunFailed(RunEventBase):
    """Fires once when a run ends in failure (provider error, refused, malformed output after repair)."""

    type: Literal["agent.run.failed"] = "agent.run.failed"
    provider: str | None = None
    model: str | None = None
    reason: str
    error_code: str
    refused: bool = Field(default=False, description="True when refused before any provider call.")
    tokens: RunTokens = RunTokens()
    cost: Money = Field(default=Decimal(0))
    price: Money = Field(default=Decimal(0))
    duration_ms: NonNegative = 0
    last_seq: NonNegative = 0


class AgentRunCancelled(RunEventBase):
    """Fires once when a user cancels a run (or its card is deleted) before it finished."""

    type: Literal["agent.run.cancelled"] = "agent.run.cancelled"
    cancelled_by: UUID | None = None
    reason: str = ""
    tokens: RunTokens = RunTokens()
    cost: Money = Field(default=Decimal(0))
    price: Money = Field(default=Decimal(0))
    last_seq: NonNegative = 0


AgentRunEvent = Annotated[
    AgentRunStarted | AgentRunLog | AgentRunCompleted | AgentRunFailed | AgentRunCancelled,
    Field(discriminator="type"),
]
AGENT_RUN_EVENT_ADAPTER: TypeAdapter[AgentRunEvent] = TypeAdapter(AgentRunEvent)


RUN_NAMESPACE = UUID("5b0c2f3e-7a51-4d1e-9f0a-3c2b1a0e9d8c")


def run_id_for(trigger_event_id: UUID, agent: str) -> UUID:
    """The run an event starts for an agent: derived, so a redelivered event never starts a second run."""
    return uuid5(RUN_NAMESPACE, f"{trigger_event_id}:{agent}")


def settlement_id_for(run_id: UUID) -> UUID:
    """The id of a run's one ``usage.run_settled`` event, whichever attempt publishes it."""
    return uuid5(RUN_NAMESPACE, f"{run_id}:settled")
