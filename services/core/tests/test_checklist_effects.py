"""Runs change their card's checklist by item, against the checklist core holds when it applies the step: two
runs adding at once, and a person ticking meanwhile, keep each other's lines; each change applies once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from agentworks_events import CardUpdated, ChecklistEffect
from agentworks_events.cards import CHECKLIST_MAX

from .conftest import Core
from .test_run_effects import _claims, _deliver, _step


async def _checklist(core: Core, viewer: Any, card_id: str) -> list[tuple[str, bool]]:
    card = await core.ok("GET", f"/api/cards/{card_id}", viewer)
    return [(item["text"], item["done"]) for item in card["checklist"]]


async def test_two_runs_adding_at_once_keep_both_lines_and_a_persons_tick(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    person = [{"text": "Agree the vault provider", "done": True}]
    await core.ok("PATCH", f"/api/cards/{a['card']}", world.member, {"checklist": person})
    backend = _step(
        a, uuid.uuid4(), 1, ChecklistEffect(call_id="c1", add=("Write the migration",)), agent="dev_backend"
    )
    frontend = _step(a, uuid.uuid4(), 1, ChecklistEffect(call_id="c1", add=("Build the form",)), agent="dev_frontend")

    await asyncio.gather(_deliver(core, backend), _deliver(core, frontend))

    lines = await _checklist(core, world.viewer, a["card"])
    assert lines[0] == ("Agree the vault provider", True)
    assert sorted(lines[1:]) == [("Build the form", False), ("Write the migration", False)]
    updates = [e for e in core.sink.events() if isinstance(e, CardUpdated)]
    assert [u.changed_fields for u in updates] == [("checklist",), ("checklist",), ("checklist",)]


async def test_a_step_adds_only_new_lines_and_ticks_by_text_once_however_often_it_arrives(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    person = [{"text": "Write the migration", "done": False}]
    await core.ok("PATCH", f"/api/cards/{a['card']}", world.member, {"checklist": person})
    run_id = uuid.uuid4()
    adding = ChecklistEffect(
        call_id="c1",
        add=("Write the migration", "Add the endpoints", "Add the endpoints"),
        check=("Add the endpoints",),
    )
    step = _step(a, run_id, 1, adding, agent="dev_backend")
    await _deliver(core, step)
    assert await _checklist(core, world.viewer, a["card"]) == [
        ("Write the migration", False),
        ("Add the endpoints", True),  # added, then ticked by the same effect
    ]

    # A person unticks the line; the step arriving again (or re-published under another id) changes nothing.
    unticked = [{"text": "Write the migration", "done": False}, {"text": "Add the endpoints", "done": False}]
    await core.ok("PATCH", f"/api/cards/{a['card']}", world.member, {"checklist": unticked})
    await _deliver(core, step)
    await _deliver(core, step.model_copy(update={"id": uuid.uuid4()}))
    assert await _checklist(core, world.viewer, a["card"]) == [(i["text"], i["done"]) for i in unticked]
    assert await _claims(core, run_id, a["workspace"]) == {"c1": ("applied", "")}


async def test_a_text_no_line_reads_is_named_and_the_rest_of_the_effect_applies(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    person = [{"text": "Write the migration", "done": True}]
    await core.ok("PATCH", f"/api/cards/{a['card']}", world.member, {"checklist": person})
    run_id = uuid.uuid4()
    partly = ChecklistEffect(call_id="c1", uncheck=("Write the migration", "Ship it"))
    missing = ChecklistEffect(call_id="c2", check=("Deploy",))
    await _deliver(core, _step(a, run_id, 1, partly, missing, agent="qa"))

    assert await _checklist(core, world.viewer, a["card"]) == [("Write the migration", False)]
    assert await _claims(core, run_id, a["workspace"]) == {
        "c1": ("applied", "no line reads 'Ship it'"),
        "c2": ("refused", "The checklist is unchanged: no line reads 'Deploy'."),
    }


async def test_a_checklist_keeps_at_most_its_limit_of_lines(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    almost = [{"text": f"Line {n}", "done": False} for n in range(CHECKLIST_MAX - 1)]
    await core.ok("PATCH", f"/api/cards/{a['card']}", world.member, {"checklist": almost})
    run_id = uuid.uuid4()
    over = ChecklistEffect(call_id="c1", add=("Write the migration", "Add the endpoints", "Cover them with tests"))
    full = ChecklistEffect(call_id="c2", add=("Deploy",))
    await _deliver(core, _step(a, run_id, 1, over, full, agent="dev_backend"))

    lines = await _checklist(core, world.viewer, a["card"])
    assert len(lines) == CHECKLIST_MAX
    assert lines[-1] == ("Write the migration", False)
    limit = f"a checklist holds at most {CHECKLIST_MAX} lines"
    assert await _claims(core, run_id, a["workspace"]) == {
        "c1": ("applied", f"2 line(s) not added: {limit}"),
        "c2": ("refused", f"The checklist is unchanged: 1 line(s) not added: {limit}."),
    }
