"""agent-runs: published by the orchestrator as an agent run progresses, and when a card's code is merged."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, get_args
from uuid import UUID, uuid5

from pydantic import BeforeValidator, Field, JsonValue, TypeAdapter, model_validator

from agentworks_events.base import AgentKey, Event, Frozen, Money, NonNegative
from agentworks_events.cards import CHECKLIST_MAX, CRITERIA_MAX, CardType, ChecklistItem, Criterion
from agentworks_events.timestamps import AwareUtcDateTime

RunKind = Literal["card", "console"]
LogStream = Literal["stdout", "stderr", "system"]
RunLimit = Literal["steps", "tokens", "time", "cost"]
SkipReason = Literal["disabled", "quota_exceeded", "budget_exceeded", "circuit_open", "provider_not_configured"]
"""Why an agent did not run: turned off for the project, the workspace's hourly run quota or its budget spent (the
run is refused before it starts), its model's circuit open at the provider router or no provider configured for its
model (the router refused the run's first call, before any provider was called)."""
DocumentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
"""A document's kind within its project or card, e.g. ``prd``."""
ToolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
CallId = Annotated[str, Field(min_length=1, max_length=200)]
"""The model's id for one tool call; with the run and the step it keys the call's effect."""
TOOL_RESULT_MAX = 8000


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

    kind: DocumentName
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
    lane_number: NonNegative | None = Field(default=None, description="None puts the card in Ready (lane 4).")


class ToolCallRecord(Frozen):
    """One tool call of a step as the model made it and as the tool answered it."""

    call_id: CallId
    tool: ToolName
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    ok: bool
    result: Annotated[str, Field(max_length=TOOL_RESULT_MAX)] = Field(
        default="", description="The text fed back to the model."
    )
    error: str | None = None
    duration_ms: NonNegative = 0


class EffectBase(Frozen):
    call_id: CallId


class DocumentWriteEffect(EffectBase):
    """A new version of the run's card's document ``name`` (each card has its own lineage of each document)."""

    kind: Literal["document.write"] = "document.write"
    name: DocumentName
    title: Annotated[str, Field(min_length=1, max_length=200)]
    content: Annotated[str, Field(max_length=1_000_000)]
    content_type: Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=64)] = "text/markdown"


class ChildCardEffect(EffectBase):
    """A child card of the run's card, on its board: in the lane ``lane_number`` names, else in Ready (lane 4),
    or the board's first lane when it has no such lane."""

    kind: Literal["card.create_child"] = "card.create_child"
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    acceptance_criteria: tuple[Criterion, ...] = Field(default=(), max_length=CRITERIA_MAX)
    card_type: Annotated[CardType, BeforeValidator(_known_card_type)] = "task"
    lane_number: NonNegative | None = None


class CardUpdateEffect(EffectBase):
    """Changes the run's own card: the fields given (not None) replace the card's."""

    kind: Literal["card.update"] = "card.update"
    description: str | None = None
    checklist: tuple[ChecklistItem, ...] | None = Field(
        default=None,
        max_length=CHECKLIST_MAX,
        description="A whole checklist, as events published before card.checklist carried it; the tools now change "
        "a checklist by item (card.checklist), so concurrent writers keep each other's lines.",
    )


ChecklistText = Annotated[str, Field(min_length=1, max_length=500)]
"""A checklist line's text, as a line of ``ChecklistItem`` holds it."""


class ChecklistEffect(EffectBase):
    """Changes the run's own card's checklist by item, against the checklist core has when it applies the effect,
    so lines a person or another run added meanwhile are kept. ``add`` appends each text the checklist does not
    hold yet (an exact duplicate is skipped), within the checklist's limit of lines; ``check`` and ``uncheck``
    mark the lines reading exactly each text (a text no line reads is skipped and named in the effect's detail).
    The additions apply first, so a step may add a line and tick it."""

    kind: Literal["card.checklist"] = "card.checklist"
    add: tuple[ChecklistText, ...] = Field(default=(), max_length=CHECKLIST_MAX)
    check: tuple[ChecklistText, ...] = Field(default=(), max_length=CHECKLIST_MAX)
    uncheck: tuple[ChecklistText, ...] = Field(default=(), max_length=CHECKLIST_MAX)


class CommentEffect(EffectBase):
    """A comment by the run's agent on the run's card or one of its children."""

    kind: Literal["card.comment"] = "card.comment"
    card_id: UUID
    body: Annotated[str, Field(min_length=1, max_length=20_000)]


class MoveRequestEffect(EffectBase):
    """Asks to move the run's card to the next lane; a gated lane holds the request for a person's approval."""

    kind: Literal["card.request_move"] = "card.request_move"
    reason: Annotated[str, Field(max_length=2000)] = ""


class ImageEffect(EffectBase):
    """An image the run generated, kept in the blobs port under the run's workspace, shown on the run's card."""

    kind: Literal["image.generated"] = "image.generated"
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
    prompt: Annotated[str, Field(max_length=4000)] = ""
    content_type: Annotated[str, Field(pattern=r"^image/[a-z0-9.+-]+$", max_length=64)] = "image/png"


RunEffect = Annotated[
    DocumentWriteEffect
    | ChildCardEffect
    | CardUpdateEffect
    | ChecklistEffect
    | CommentEffect
    | MoveRequestEffect
    | ImageEffect,
    Field(discriminator="kind"),
]
"""What a step asks of other services' state; core applies each once, keyed by (run_id, step, call_id)."""


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
    stopped_at_limit: RunLimit | None = Field(
        default=None, description="The limit a tool-using run reached, if it stopped at one rather than finishing."
    )
    steps: NonNegative = Field(default=0, description="Steps of a tool-using run (0 for a single-call run).")


class AgentRunStep(RunEventBase):
    """Fires after each completed step of a tool-using run, in the same transaction as the orchestrator's
    checkpoint of that step: published exactly when the step is durable. A replayed step republishes the same
    event (its id is ``step_id_for(run_id, step)``); its effects are applied once each by core."""

    type: Literal["agent.run.step"] = "agent.run.step"
    step: Annotated[int, Field(ge=1)]
    text: str = Field(default="", description="The model's prose in this step (Markdown).")
    tool_calls: tuple[ToolCallRecord, ...] = ()
    effects: tuple[RunEffect, ...] = ()
    tokens: RunTokens = Field(description="The run's totals so far.")
    cost: Money = Field(description="The run's provider cost so far.")
    duration_ms: NonNegative = 0

    @model_validator(mode="after")
    def _one_effect_per_call(self) -> AgentRunStep:
        call_ids = [effect.call_id for effect in self.effects]
        if len(set(call_ids)) != len(call_ids):
            raise ValueError("each effect of a step needs its own call_id")
        return self


class AgentRunSkipped(RunEventBase):
    """Fires, instead of the run's end, when an agent does no work: when a card enters a lane whose agent is
    disabled for the project; when a run is refused before it starts (the workspace's hourly quota or its budget
    spent); and when the provider router refuses a run's first model call before calling any provider (the model's
    circuit is open, or no provider is configured for it). Nothing was spent, so no charge is settled. Core shows
    the reason on the card, log-stream in the agent's transcript."""

    type: Literal["agent.run.skipped"] = "agent.run.skipped"
    reason_code: SkipReason
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    last_seq: NonNegative = Field(
        default=0, description="The run's last log line (0 for a run that never started an attempt)."
    )


class AgentRunFailed(RunEventBase):
    """Fires once when a run ends in failure (provider error, refused, malformed output after repair)."""

    type: Literal["agent.run.failed"] = "agent.run.failed"
    provider: str | None = None
    model: str | None = None
    reason: str
    error_code: str
    refused: bool = Field(
        default=False,
        description="True when refused before any provider call. Such a run is now reported by agent.run.skipped; "
        "consumers still read events published before.",
    )
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


GitSha = Annotated[str, Field(pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$")]
"""A full git object name (SHA-1, or SHA-256)."""


class CodeMerged(Event):
    """Fires once when a person merges a card's branch into the project's default branch through the API
    (``POST /api/cards/{card_id}/code/merge``): after the merge commit is pushed, in the transaction that records
    the merge on the card's branch. Core records it in the card's audit log, so the card's timeline shows it."""

    type: Literal["code.merged"] = "code.merged"
    card_id: UUID
    merged_by: UUID = Field(description="The person who merged it.")
    branch: Annotated[str, Field(min_length=1, max_length=255)]
    merged_sha: GitSha = Field(description="The merge commit on the default branch.")
    base_sha: GitSha = Field(description="The default branch just before the merge.")

    @property
    def ordering_key(self) -> str:
        return str(self.card_id)


AgentRunEvent = Annotated[
    AgentRunStarted
    | AgentRunLog
    | AgentRunStep
    | AgentRunCompleted
    | AgentRunFailed
    | AgentRunCancelled
    | AgentRunSkipped
    | CodeMerged,
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


def step_id_for(run_id: UUID, step: int) -> UUID:
    """The id of a run's ``agent.run.step`` event for ``step``: a replayed step republishes the same event."""
    return uuid5(RUN_NAMESPACE, f"{run_id}:step:{step}")


def skip_id_for(run_id: UUID) -> UUID:
    """The id of a run's ``agent.run.skipped`` event: a redelivered trigger or a repeated attempt says it once."""
    return uuid5(run_id, "skipped")


def child_card_id_for(run_id: UUID, step: int, call_id: str) -> UUID:
    """The id of the card a step's ``card.create_child`` effect creates: known to the run before core creates
    it, so a later step can name the child (to comment on it) and a replayed step creates no second card."""
    return uuid5(RUN_NAMESPACE, f"{run_id}:step:{step}:{call_id}")
