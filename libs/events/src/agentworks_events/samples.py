"""One valid instance of every event type: used by contract tests, the emulator tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from agentworks_events.base import Event
from agentworks_events.cards import (
    CardApproved,
    CardArchived,
    CardCreated,
    CardDeleted,
    CardMoved,
    CardRejected,
    CardRunRequested,
    CardSnapshot,
    CardUnarchived,
    CardUpdated,
    ChecklistItem,
    NotificationCreated,
    ProjectDeleted,
)
from agentworks_events.runs import (
    AgentRunCancelled,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunLog,
    AgentRunSkipped,
    AgentRunStarted,
    AgentRunStep,
    CardUpdateEffect,
    ChecklistEffect,
    ChildCardArtifact,
    ChildCardEffect,
    CodeMerged,
    CommentEffect,
    DocumentArtifact,
    DocumentWriteEffect,
    ImageEffect,
    LogLine,
    MoveRequestEffect,
    RunArtifacts,
    RunTokens,
    ToolCallRecord,
    step_id_for,
)
from agentworks_events.usage import (
    UsageBudgetChanged,
    UsageBudgetExceeded,
    UsageBudgetWarning,
    UsageRecorded,
    UsageRunSettled,
)


def sample_events(workspace_id: UUID | None = None, project_id: UUID | None = None) -> list[Event]:
    """Fresh ids on every call, so each call's events are new to every inbox."""
    ws, pr = workspace_id or uuid4(), project_id or uuid4()
    card, board, lane_a, lane_b, run = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    snapshot = CardSnapshot(card_id=card, board_id=board, lane_id=lane_b, lane_number=1, title="Checkout", position=0)
    ids = {"workspace_id": ws, "project_id": pr}
    now = datetime.now(UTC)
    return [
        CardCreated(**ids, card_id=card, card=snapshot),
        CardUpdated(**ids, card_id=card, card=snapshot, changed_fields=("title",)),
        CardMoved(
            **ids,
            card_id=card,
            board_id=board,
            from_lane_id=lane_a,
            from_lane_number=0,
            to_lane_id=lane_b,
            to_lane_number=1,
            from_position=3,
            to_position=0,
            card=snapshot,
        ),
        CardRunRequested(**ids, card_id=card, agent="prd", lane_number=1),
        CardApproved(**ids, card_id=card, run_id=run),
        CardRejected(**ids, card_id=card, run_id=run, comment="needs more detail"),
        CardArchived(**ids, card_id=card, board_id=board, lane_id=lane_b),
        CardUnarchived(**ids, card_id=card, card=snapshot),
        CardDeleted(**ids, card_id=card, board_id=board, lane_id=lane_b),
        NotificationCreated(
            **ids,
            card_id=card,
            notification_id=uuid4(),
            recipient_id=uuid4(),
            kind="mention",
            title="Ada mentioned you on Checkout",
            body="@grace can you check the totals?",
        ),
        ProjectDeleted(**ids, actor_id=uuid4()),
        AgentRunStarted(
            **ids,
            run_id=run,
            card_id=card,
            agent="prd",
            provider="offline",
            model="offline-small",
            trigger_event_id=uuid4(),
            lane_number=1,
        ),
        AgentRunLog(
            **ids,
            run_id=run,
            card_id=card,
            agent="prd",
            lines=(LogLine(seq=1, at=now, text="Reading the blueprint…"),),
        ),
        AgentRunStep(
            **ids,
            id=step_id_for(run, 1),
            run_id=run,
            card_id=card,
            agent="prd",
            step=1,
            text="I read the blueprint and wrote the PRD.",
            tool_calls=(
                ToolCallRecord(
                    call_id="call_1", tool="write_document", arguments={"name": "prd"}, ok=True, result="version 1"
                ),
            ),
            effects=(
                DocumentWriteEffect(call_id="call_1", name="prd", title="PRD", content="# PRD"),
                ChildCardEffect(call_id="call_2", title="Build the API", acceptance_criteria=("Answers 200",)),
                CardUpdateEffect(call_id="call_3", checklist=(ChecklistItem(text="PRD written", done=True),)),
                CommentEffect(call_id="call_4", card_id=card, body="The PRD is ready for review."),
                MoveRequestEffect(call_id="call_5", reason="The PRD is complete."),
                ImageEffect(call_id="call_6", name="mockup.png", prompt="A checkout page"),
                ChecklistEffect(call_id="call_7", add=("Review the PRD",), check=("PRD written",)),
            ),
            tokens=RunTokens(input_tokens=1200, output_tokens=800),
            cost=Decimal("0.012345"),
            duration_ms=2100,
        ),
        AgentRunCompleted(
            **ids,
            run_id=run,
            card_id=card,
            agent="prd",
            provider="offline",
            model="offline-small",
            tokens=RunTokens(input_tokens=1200, output_tokens=800),
            cost=Decimal("0.012345"),
            price=Decimal("0.25"),
            duration_ms=2300,
            last_seq=1,
            artifacts=RunArtifacts(
                documents=(DocumentArtifact(kind="prd", title="PRD", content="# PRD"),),
                child_cards=(ChildCardArtifact(title="Build the API"),),
                summary="PRD written",
            ),
        ),
        AgentRunFailed(
            **ids,
            run_id=uuid4(),
            card_id=card,
            agent="qa",
            reason="provider unavailable",
            error_code="provider_unavailable",
        ),
        AgentRunCancelled(**ids, run_id=uuid4(), card_id=card, agent="dev_backend"),
        AgentRunSkipped(
            **ids,
            run_id=uuid4(),
            card_id=card,
            agent="designer",
            reason_code="disabled",
            reason="The Designer is turned off for this project.",
        ),
        CodeMerged(
            **ids,
            card_id=card,
            merged_by=uuid4(),
            branch=f"card/checkout-{card.hex[:8]}",
            merged_sha="a" * 40,
            base_sha="b" * 40,
        ),
        UsageRecorded(
            **ids,
            run_id=run,
            card_id=card,
            agent="prd",
            provider="offline",
            model="offline-small",
            requested_provider="offline",
            input_tokens=1200,
            output_tokens=800,
            cost=Decimal("0.012345"),
            latency_ms=900,
            outcome="success",
        ),
        UsageRunSettled(
            **ids,
            run_id=run,
            card_id=card,
            agent="prd",
            run_status="completed",
            cost=Decimal("0.012345"),
            markup=Decimal(5),
            increment=Decimal("0.25"),
            unrounded_amount=Decimal("0.061725"),
            price=Decimal("0.25"),
            provider_calls=1,
        ),
        UsageBudgetWarning(**ids, scope="workspace", period=now.strftime("%Y-%m"), cap=Decimal(100), spent=Decimal(80)),
        UsageBudgetExceeded(
            **ids, scope="workspace", period=now.strftime("%Y-%m"), cap=Decimal(100), spent=Decimal(100)
        ),
        UsageBudgetChanged(
            **ids, scope="workspace", period=now.strftime("%Y-%m"), cap=Decimal(200), spent=Decimal(100)
        ),
    ]
