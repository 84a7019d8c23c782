"""The effects of a tool-using run's steps, applied once each.

Every effect is claimed in ``run_effects`` under ``(run_id, step, call_id)`` in the message's transaction before
it is applied, so a redelivered or replayed step finds its effects claimed and changes nothing twice. What the
event claims is verified first (``verify_step``): an effect naming a card of another workspace rejects the whole
event. A rule an effect breaks (a comment on a card that is not the run's nor its child, a full lane) refuses that
effect alone, recorded with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from agentworks_events import (
    AgentRunStep,
    CardUpdated,
    CardUpdateEffect,
    ChecklistEffect,
    ChildCardEffect,
    CommentEffect,
    DocumentWriteEffect,
    ImageEffect,
    MoveRequestEffect,
    child_card_id_for,
    utc_now,
)
from agentworks_events.cards import CHECKLIST_MAX
from agentworks_platform.errors import AppError
from agentworks_pubsub import Outbox, PermanentEventError
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_core.audit import service as audit
from agentworks_core.cards import repository as cards
from agentworks_core.cards.service import add_agent_child, move_for_run, snapshot, stored
from agentworks_core.comments import service as comments
from agentworks_core.documents import service as documents
from agentworks_core.documents.schemas import DocumentWrite
from agentworks_core.models import AgentRun, AppliedEffect, Card, CardImage, Lane
from agentworks_core.projects import repository as projects
from agentworks_core.runs import repository

APPLIED, SKIPPED, REFUSED = "applied", "skipped", "refused"
AWAITING_APPROVAL, DECLINED = "awaiting_approval", "declined"


class Skip(Exception):
    """The effect cannot apply any more (its card was deleted since): recorded as skipped, never retried."""


async def verify_step(session: AsyncSession, event: AgentRunStep) -> None:
    """Every card a comment names must be of the event's workspace (the run's card is checked with the run)."""
    creates = {
        child_card_id_for(event.run_id, event.step, effect.call_id)
        for effect in event.effects
        if isinstance(effect, ChildCardEffect)
    }
    commented = {effect.card_id for effect in event.effects if isinstance(effect, CommentEffect)}
    named = commented - creates - {event.card_id}
    for entry in await repository.index_entries(session, list(named)):
        if (entry.kind, entry.workspace_id) != ("card", event.workspace_id):
            raise PermanentEventError(f"card {entry.id} is not one of workspace {event.workspace_id}'s")


async def apply_step(session: AsyncSession, outbox: Outbox, run: AgentRun, event: AgentRunStep) -> None:
    for effect in event.effects:
        if await session.get(AppliedEffect, (event.run_id, event.step, effect.call_id)) is not None:
            continue
        claim = AppliedEffect(
            run_id=event.run_id,
            step=event.step,
            call_id=effect.call_id,
            workspace_id=event.workspace_id,
            kind=effect.kind,
            outcome=APPLIED,
            created_at=utc_now(),
        )
        session.add(claim)
        applying = Applying(session, outbox, run, event)
        try:
            claim.outcome = await APPLY[effect.kind](applying, effect)
            claim.detail = applying.detail
        except Skip as skipped:
            claim.outcome, claim.detail = SKIPPED, str(skipped)
        except AppError as refused:
            claim.outcome, claim.detail = REFUSED, refused.message
        await session.flush()


class Applying:
    """One effect's surroundings: the message's session and outbox, the run's projection and its step."""

    def __init__(self, session: AsyncSession, outbox: Outbox, run: AgentRun, event: AgentRunStep) -> None:
        self.session, self.outbox, self.run, self.event = session, outbox, run, event
        self.detail = ""

    async def card(self, card_id: uuid.UUID | None = None) -> Card:
        wanted = card_id or self.event.card_id
        card = await self.session.get(Card, wanted) if wanted is not None else None
        if card is None:
            raise Skip("the run has no card" if wanted is None else f"card {wanted} no longer exists")
        return card

    def audit(self, action: str, resource_type: str, resource_id: uuid.UUID, after: dict[str, Any]) -> None:
        audit.record_for_run(
            self.session, self.event.workspace_id, self.event.run_id, action, resource_type, resource_id, after
        )


async def _write_document(applying: Applying, effect: DocumentWriteEffect) -> str:
    card = await applying.card()
    body = DocumentWrite(title=effect.title, content=effect.content, content_type=effect.content_type)
    version = await documents.append_card_version(
        applying.session, card, effect.name, body, applying.event.run_id, applying.event.agent
    )
    applying.audit("document.versioned", "card", card.id, {"kind": effect.name, "version": version.version})
    return APPLIED


READY_LANE = 4


def child_lane(lanes: list[Lane], lane_number: int | None) -> Lane:
    """Where an agent's child card goes: the lane it names, else Ready (4), where a team picks work up and no agent
    starts; a board without that lane takes it into its first lane."""
    by_number = {lane.number: lane for lane in lanes}
    wanted = by_number.get(lane_number if lane_number is not None else READY_LANE)
    return wanted or min(lanes, key=lambda lane: lane.position)


async def _create_child(applying: Applying, effect: ChildCardEffect) -> str:
    session, event = applying.session, applying.event
    parent = await applying.card()
    lane = child_lane(await projects.lanes_of(session, parent.board_id), effect.lane_number)
    fields = effect.model_dump(include={"title", "description", "acceptance_criteria", "card_type"})
    child_id = child_card_id_for(event.run_id, event.step, effect.call_id)
    child = await add_agent_child(session, applying.outbox, parent, lane, child_id, fields, event.run_id)
    applying.audit("card.created", "card", child.id, {"title": child.title, "parent_id": parent.id})
    return APPLIED


async def _update_card(applying: Applying, effect: CardUpdateEffect) -> str:
    card = await cards.card_for_update(applying.session, (await applying.card()).id)
    assert card is not None
    wanted = stored(effect.model_dump(include={"description", "checklist"}, exclude_none=True))
    changed = tuple(field for field, value in wanted.items() if getattr(card, field) != value)
    if changed:
        for field in changed:
            setattr(card, field, wanted[field])
        await _publish_update(applying, card, changed)
    return APPLIED


async def _change_checklist(applying: Applying, effect: ChecklistEffect) -> str:
    """By item, against the checklist as it is now (the card's row locked), so lines others added meanwhile stay.
    What cannot apply (a line past the limit, a text no line reads) is named in the detail; the effect is refused
    only when none of it could apply."""
    card = await cards.card_for_update(applying.session, (await applying.card()).id)
    assert card is not None
    items = [{"text": str(item["text"]), "done": bool(item["done"])} for item in card.checklist]
    present = {item["text"] for item in items}
    fresh = [text for text in dict.fromkeys(effect.add) if text not in present]
    room = max(CHECKLIST_MAX - len(items), 0)
    items += [{"text": text, "done": False} for text in fresh[:room]]
    unread = [text for text in (*effect.check, *effect.uncheck) if all(item["text"] != text for item in items)]
    for done, texts in ((True, effect.check), (False, effect.uncheck)):
        for item in items:
            if item["text"] in texts:
                item["done"] = done
    problems = []
    if fresh[room:]:
        problems.append(f"{len(fresh) - room} line(s) not added: a checklist holds at most {CHECKLIST_MAX} lines")
    if unread:
        problems.append("no line reads " + ", ".join(repr(text) for text in unread))
    applying.detail = "; ".join(problems)
    if items != card.checklist:
        card.checklist = items
        await _publish_update(applying, card, ("checklist",))
    asked = len(fresh) + len(effect.check) + len(effect.uncheck)
    if problems and len(fresh[room:]) + len(unread) == asked:
        raise AppError(f"The checklist is unchanged: {applying.detail}.", code="checklist_unchanged")
    return APPLIED


async def _publish_update(applying: Applying, card: Card, changed: tuple[str, ...]) -> None:
    """A run's change of its card, as a person's edit: stamped, audited and published as ``card.updated``."""
    card.updated_at = utc_now()
    lane = await applying.session.get(Lane, card.lane_id)
    assert lane is not None
    applying.audit("card.updated", "card", card.id, {"changed": ",".join(changed)})
    updated = CardUpdated(
        workspace_id=card.workspace_id,
        project_id=card.project_id,
        card_id=card.id,
        card=snapshot(card, lane, await cards.position_of(applying.session, card)),
        changed_fields=changed,
    )
    await applying.outbox.add(applying.session, updated)


async def _comment(applying: Applying, effect: CommentEffect) -> str:
    """On the run's card or one of its children: another card of the workspace is refused, the rest of the step
    still applies."""
    card = await applying.card(effect.card_id)
    run_card = applying.event.card_id
    if run_card is None or run_card not in (card.id, card.parent_id):
        raise AppError(f"Card {card.id} is neither this run's card nor one of its children.", code="not_a_child")
    event = applying.event
    await comments.add_for_run(applying.session, applying.outbox, card, event.run_id, event.agent, effect.body)
    return APPLIED


async def _request_move(applying: Applying, effect: MoveRequestEffect) -> str:
    """Moves the card on, unless its lane holds its runs for approval: then the run waits for a person, whose
    approval carries the move out (``carry_out_approved_moves``)."""
    card = await applying.card()
    lane = await applying.session.get(Lane, card.lane_id)
    assert lane is not None
    applying.detail = effect.reason
    if lane.requires_approval:
        if applying.run.approval is None:
            applying.run.approval = "pending"
        return AWAITING_APPROVAL
    await _move_on(applying.session, applying.outbox, card, applying.run)
    return APPLIED


async def _move_on(session: AsyncSession, outbox: Outbox, card: Card, run: AgentRun) -> None:
    lanes = await projects.lanes_of(session, card.board_id)
    after = [lane for lane in lanes if lane.position > next(x.position for x in lanes if x.id == card.lane_id)]
    if not after:
        raise AppError("The card is in the board's last lane; there is no lane to move it to.", code="last_lane")
    await move_for_run(session, outbox, card.id, after[0].id)
    audit.record_for_run(session, card.workspace_id, run.id, "card.moved", "card", card.id, {"lane_id": after[0].id})


async def carry_out_approved_moves(session: AsyncSession, outbox: Outbox, run: AgentRun, approved: bool) -> None:
    """A person decided on a run whose move requests wait at the gate: approving moves the card on (once,
    whatever the number of requests), rejecting declines them."""
    waiting = await repository.effects_awaiting_approval(session, run.id)
    for claim in waiting:
        claim.outcome = DECLINED if not approved else APPLIED
    if not approved or not waiting or run.card_id is None:
        return
    card = await session.get(Card, run.card_id)
    try:
        if card is None:
            raise Skip(f"card {run.card_id} no longer exists")
        await _move_on(session, outbox, card, run)
    except (Skip, AppError) as failed:
        for claim in waiting:
            claim.outcome = REFUSED
            claim.detail = failed.message if isinstance(failed, AppError) else str(failed)


async def _show_image(applying: Applying, effect: ImageEffect) -> str:
    card = await applying.card()
    image = CardImage(
        workspace_id=card.workspace_id,
        card_id=card.id,
        run_id=applying.event.run_id,
        agent=applying.event.agent,
        name=effect.name,
        prompt=effect.prompt,
        content_type=effect.content_type,
        created_at=utc_now(),
    )
    applying.session.add(image)
    return APPLIED


APPLY: dict[str, Callable[[Applying, Any], Awaitable[str]]] = {
    "document.write": _write_document,
    "card.create_child": _create_child,
    "card.update": _update_card,
    "card.checklist": _change_checklist,
    "card.comment": _comment,
    "card.request_move": _request_move,
    "image.generated": _show_image,
}
"""Each effect kind's application; it answers the claim's outcome."""
