"""Conversation on a card: comments edited and deleted by their author, mentions of agents (a run with the comment as
its instructions) and people (a notification), each person's inbox, and who hears of a card's runs."""

from __future__ import annotations

import uuid
from typing import Any

from agentworks_events import CardRunRequested, NotificationCreated
from sqlalchemy import select

from .conftest import Core, User, World


def _handle(user: User) -> str:
    return "@" + user.email.partition("@")[0]


def _comments(a: dict[str, Any]) -> str:
    return f"/api/cards/{a['card']}/comments"


def _inbox(a: dict[str, Any]) -> str:
    return f"/api/workspaces/{a['workspace']}/notifications"


def _announced(core: Core) -> list[NotificationCreated]:
    return [e for e in core.sink.events() if isinstance(e, NotificationCreated)]


async def test_only_its_author_edits_a_comment_and_an_owner_may_delete_any(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    mine = await core.ok("POST", _comments(a), world.member, {"body": "Ship it **today**"})
    assert (mine["edited_at"], mine["deleted"], mine["runs"]) == (None, False, [])
    path = f"{_comments(a)}/{mine['id']}"

    edited = await core.ok("PATCH", path, world.member, {"body": "Ship it **tomorrow**"})
    assert (edited["body"], edited["edited_at"] is not None) == ("Ship it **tomorrow**", True)
    for someone, status in ((world.owner, 403), (world.viewer, 403)):
        refused = await core.call("PATCH", path, someone, {"body": "hijacked"})
        assert refused.status_code == status, refused.text
    refused = await core.call("DELETE", path, world.viewer)
    assert refused.status_code == 403

    theirs = await core.ok("POST", _comments(a), world.owner, {"body": "Owner's note"})
    refused = await core.call("DELETE", f"{_comments(a)}/{theirs['id']}", world.member)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")

    assert (await core.call("DELETE", path, world.owner)).status_code == 204  # an owner moderates
    listed = await core.ok("GET", _comments(a), world.viewer)
    assert [(c["body"], c["deleted"]) for c in listed] == [("", True), ("Owner's note", False)]
    again = await core.call("PATCH", path, world.member, {"body": "back"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "comment_deleted")
    assert (await core.call("DELETE", path, world.member)).status_code == 409


async def test_a_comment_is_found_only_on_its_own_card(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    other = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Other"})
    mine = await core.ok("POST", _comments(a), world.member, {"body": "here"})
    elsewhere = f"/api/cards/{other['id']}/comments/{mine['id']}"
    assert (await core.call("PATCH", elsewhere, world.member, {"body": "x"})).status_code == 404
    assert (await core.call("DELETE", f"{_comments(a)}/{uuid.uuid4()}", world.member)).status_code == 404
    for body in ({"body": ""}, {"body": "x" * 20_001}, {"text": "hi"}):
        assert (await core.call("PATCH", f"{_comments(a)}/{mine['id']}", world.member, body)).status_code == 422


async def test_mentioning_a_person_notifies_them_alone_live_and_in_their_inbox(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    body = f"{_handle(world.viewer)} and {_handle(world.member)}, see `{_handle(world.owner)}` and mail x@example.com"
    posted = await core.ok("POST", _comments(a), world.member, {"body": body})

    [announced] = _announced(core)
    assert (announced.recipient_id, announced.kind) == (world.viewer.id, "mention")
    assert announced.card_id == uuid.UUID(a["card"])
    assert announced.actor_id == world.member.id
    inbox = await core.ok("GET", _inbox(a), world.viewer)
    [entry] = inbox["notifications"]
    assert (entry["id"], entry["kind"], entry["comment_id"], inbox["unread"]) == (
        str(announced.notification_id),
        "mention",
        posted["id"],
        1,
    )
    assert world.member.email in entry["title"]
    assert entry["body"].startswith("@viewer-")
    assert (await core.ok("GET", _inbox(a), world.member))["notifications"] == []  # no note to oneself
    # The owner (in a code span) is not mentioned: only the seeded run's outcome is in their inbox.
    assert [n["kind"] for n in (await core.ok("GET", _inbox(a), world.owner))["notifications"]] == ["run_finished"]


async def test_the_whole_email_names_a_person_and_a_mentioned_person_follows_the_card(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    await core.ok("POST", _comments(a), world.owner, {"body": f"@{world.viewer.email}: thoughts?"})
    assert [e.recipient_id for e in _announced(core)] == [world.viewer.id]
    assert await core.ok("GET", f"/api/cards/{a['card']}/watch", world.viewer) == {"watching": True, "because": "watch"}


async def test_inbox_read_one_and_all_unread_counts_and_privacy(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    for text in ("first", "second", "third"):
        await core.ok("POST", _comments(a), world.member, {"body": f"{_handle(world.viewer)} {text}"})
    inbox = await core.ok("GET", _inbox(a), world.viewer)
    assert [n["body"].split()[-1] for n in inbox["notifications"]] == ["third", "second", "first"]
    newest = inbox["notifications"][0]["id"]

    refused = await core.call("POST", f"{_inbox(a)}/{newest}/read", world.member)  # someone else's
    assert refused.status_code == 404
    read = await core.ok("POST", f"{_inbox(a)}/{newest}/read", world.viewer)
    assert read["read_at"] is not None
    assert await core.ok("GET", f"{_inbox(a)}/unread", world.viewer) == {"unread": 2}
    unread = await core.ok("GET", f"{_inbox(a)}?unread_only=true&limit=1", world.viewer)
    assert (len(unread["notifications"]), unread["unread"]) == (1, 2)
    assert await core.ok("POST", f"{_inbox(a)}/read", world.viewer) == {"unread": 0}
    assert await core.ok("GET", f"{_inbox(a)}/unread", world.viewer) == {"unread": 0}
    assert (await core.call("GET", f"{_inbox(a)}?limit=0", world.viewer)).status_code == 422
    b = world.ids["b"]
    assert (await core.call("GET", _inbox(b), world.viewer)).status_code == 404


async def test_mentioning_an_agent_runs_it_on_the_card_with_the_comment_as_its_instructions(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    body = "@prd please cover refunds, and @Backend developer check the API. `@qa` is not asked. @prd again"
    posted = await core.ok("POST", _comments(a), world.member, {"body": body})
    requested = [e for e in core.sink.events() if isinstance(e, CardRunRequested)]
    assert [(e.agent, e.instructions, e.actor_id, str(e.card_id)) for e in requested] == [
        ("prd", body, world.member.id, a["card"]),
        ("dev_backend", body, world.member.id, a["card"]),
    ]
    asked = [(r["agent"], r["event_id"]) for r in posted["runs"]]
    assert asked == [("prd", str(requested[0].id)), ("dev_backend", str(requested[1].id))]


async def test_an_agent_mention_obeys_the_run_rules(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    off = {"provider": "offline", "model": "offline-small", "enabled": False}
    await core.ok("PUT", f"/api/projects/{a['project']}/agents/prd", world.member, off)
    refused = await core.call("POST", _comments(a), world.member, {"body": "@prd go"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "agent_disabled")
    assert await core.ok("GET", _comments(a), world.viewer) == []  # nothing half done
    assert not [e for e in core.sink.events() if isinstance(e, CardRunRequested)]
    long = "@strategy " + "y" * 19_000
    await core.ok("POST", _comments(a), world.member, {"body": long})
    [requested] = [e for e in core.sink.events() if isinstance(e, CardRunRequested)]
    assert requested.instructions == long[:4000]


async def _outcomes(core: Core, world: World, **changes: Any) -> list[tuple[uuid.UUID, str]]:
    a = world.ids["a"]
    core.sink.published.clear()
    await core.completed_run(a["workspace"], a["project"], a["card"], **changes)
    return [(e.recipient_id, e.kind) for e in _announced(core)]


async def test_a_cards_runs_are_announced_to_who_created_watches_or_was_mentioned_on_it(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    assert await _outcomes(core, world) == [(world.owner.id, "run_finished")]  # the owner created the card
    await core.ok("PUT", f"/api/cards/{a['card']}/watch", world.member)
    muted = await core.ok("DELETE", f"/api/cards/{a['card']}/watch", world.owner)
    assert muted == {"watching": False, "because": "muted"}
    assert await _outcomes(core, world, requires_approval=True) == [(world.member.id, "approval_requested")]
    inbox = await core.ok("GET", _inbox(a), world.member)
    assert inbox["notifications"][0]["title"] == "PRD waits for approval on Checkout"


async def test_a_failed_run_is_announced_with_its_reason(core: Core) -> None:
    from agentworks_events import AgentRunFailed, RunTokens

    world = await core.world()
    a = world.ids["a"]
    failed = AgentRunFailed(
        workspace_id=uuid.UUID(a["workspace"]),
        project_id=uuid.UUID(a["project"]),
        run_id=uuid.uuid4(),
        card_id=uuid.UUID(a["card"]),
        agent="prd",
        error_code="provider_error",
        reason="The provider answered 500 three times.",
        tokens=RunTokens(input_tokens=1, output_tokens=0),
        last_seq=0,
    )
    assert (await core.push(failed)).status_code == 204
    assert (await core.push(failed)).status_code == 204  # a duplicate delivery notifies no one twice
    [announced] = _announced(core)
    assert (announced.recipient_id, announced.kind) == (world.owner.id, "run_failed")
    assert announced.body == "The provider answered 500 three times."


async def _push_usage(core: Core, event: Any) -> None:
    from agentworks_pubsub.testing import push_envelope

    from .conftest import CORE_URL

    body = push_envelope(event, "core-usage-events")
    headers = {"authorization": f"Bearer {core.pusher.sign(CORE_URL)}"}
    response = await core.client.post("/_events/core-usage-events", json=body, headers=headers)
    assert response.status_code == 204, response.text


async def test_billings_budget_signals_reach_the_owners_inbox_once(core: Core) -> None:
    from decimal import Decimal

    from agentworks_events import UsageBudgetExceeded, UsageBudgetWarning

    world = await core.world()
    a = world.ids["a"]
    scope = {"workspace_id": uuid.UUID(a["workspace"]), "project_id": uuid.UUID(a["project"]), "period": "2026-12"}
    budget = {"scope": "project", "budget_project_id": scope["project_id"], "cap": Decimal(100), "spent": Decimal(80)}
    warning = UsageBudgetWarning(**scope, **budget)
    await _push_usage(core, warning)
    await _push_usage(core, warning)  # a duplicate delivery: nothing twice
    await _push_usage(core, UsageBudgetExceeded(**scope, scope="workspace", cap=Decimal(200), spent=Decimal("200.5")))
    inbox = await core.ok("GET", _inbox(a), world.owner)
    budget = [(n["kind"], n["title"], n["body"]) for n in inbox["notifications"] if n["kind"].startswith("budget")]
    assert budget == [
        (
            "budget_exceeded",
            "The workspace's budget is used up",
            "$200.50 of $200.00 spent in 2026-12; new runs are refused until it is raised.",
        ),
        ("budget_warning", "Shop's budget is 80% spent", "$80.00 of $100.00 spent in 2026-12."),
    ]
    assert (await core.ok("GET", _inbox(a), world.member))["notifications"] == []  # owners set budgets
    assert _announced(core) == []  # no card: found when the inbox is next read


async def test_a_budget_signal_naming_another_workspaces_project_is_rejected(core: Core) -> None:
    from decimal import Decimal

    from agentworks_core.models import inbox
    from agentworks_events import UsageBudgetWarning

    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    forged = UsageBudgetWarning(
        workspace_id=uuid.UUID(a["workspace"]),
        project_id=uuid.UUID(b["project"]),
        period="2026-12",
        scope="workspace",
        cap=Decimal(1),
        spent=Decimal(1),
    )
    await _push_usage(core, forged)
    async with core.app.state.ctx.db.transaction() as session:
        outcome = await session.scalar(select(inbox.c.outcome).where(inbox.c.event_id == str(forged.id)))
    assert outcome == "rejected"
    assert (await core.ok("GET", _inbox(a), world.owner))["unread"] == 1  # only the seeded run's outcome


async def test_an_agents_comment_notifies_the_people_it_names_once_and_runs_no_agent(core: Core) -> None:
    from decimal import Decimal

    from agentworks_events import AgentRunStep, CommentEffect, RunTokens, step_id_for

    world = await core.world()
    a = world.ids["a"]
    run_id = uuid.uuid4()
    body = f"{_handle(world.viewer)} please check; {_handle(world.member)} too. @prd, @Architect: over to you."
    step = AgentRunStep(
        id=step_id_for(run_id, 1),
        workspace_id=uuid.UUID(a["workspace"]),
        project_id=uuid.UUID(a["project"]),
        run_id=run_id,
        card_id=uuid.UUID(a["card"]),
        agent="architect",
        step=1,
        effects=(CommentEffect(call_id="note", card_id=uuid.UUID(a["card"]), body=body),),
        tokens=RunTokens(input_tokens=10, output_tokens=1),
        cost=Decimal("0.001"),
    )
    for event in (step, step, step.model_copy(update={"id": uuid.uuid4()})):  # redelivered, then replayed
        assert (await core.push(event)).status_code == 204

    announced = _announced(core)
    assert sorted((e.recipient_id, e.kind, e.actor_id) for e in announced) == sorted(
        [(world.viewer.id, "mention", None), (world.member.id, "mention", None)]
    )
    assert [e for e in core.sink.events() if isinstance(e, CardRunRequested)] == []  # agents never start agents
    [comment] = await core.ok("GET", _comments(a), world.viewer)
    [entry] = (await core.ok("GET", _inbox(a), world.viewer))["notifications"]
    assert (entry["kind"], entry["agent"], entry["run_id"], entry["comment_id"]) == (
        "mention", "architect", str(run_id), comment["id"],
    )  # fmt: skip
    assert entry["title"] == "Architect mentioned you on Checkout"
    assert await core.ok("GET", f"/api/cards/{a['card']}/watch", world.viewer) == {"watching": True, "because": "watch"}
