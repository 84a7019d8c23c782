"""Cards are ordered by keys: a move writes the moved card's row only, concurrent moves leave one consistent
order with every card once, a gap filled again and again is re-keyed, and existing positions migrate."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from agentworks_core.cards import order
from agentworks_core.models import MIGRATIONS
from agentworks_events import CardMoved
from agentworks_platform.migrations import alembic_config
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .conftest import Core, User


def _member(core: Core) -> User:
    """The seeded world's member (``core.world()`` would also forget the events recorded so far)."""
    assert core.seeded is not None
    return core.seeded.member


async def _lane_of_cards(core: Core, count: int, lane_index: int = 1) -> tuple[dict[str, Any], str, list[str]]:
    world = await core.world()
    a = world.ids["a"]
    lane = a["lanes"][lane_index]
    made = []
    for n in range(count):
        body = {"title": f"card {n}", "lane_id": lane}
        made.append((await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, body))["id"])
    return a, lane, made


async def _lane(core: Core, a: dict[str, Any], lane: str) -> list[dict[str, Any]]:
    board = await core.ok("GET", f"/api/boards/{a['board']}", _member(core))
    return next(x["cards"] for x in board["lanes"] if x["id"] == lane)


async def _move(core: Core, card: str, lane: str, position: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"lane_id": lane} if position is None else {"lane_id": lane, "position": position}
    moved: dict[str, Any] = await core.ok("PUT", f"/api/cards/{card}/move", _member(core), body)
    return moved


@contextmanager
def _writes_to_cards(core: Core) -> Iterator[list[tuple[str, int]]]:
    """Each statement that writes to the cards table while inside, with the rows it changed."""
    writes: list[tuple[str, int]] = []
    engine: Engine = core.app.state.ctx.db.engine.sync_engine

    def note(_conn: Any, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("UPDATE CARDS", "INSERT INTO CARDS", "DELETE FROM CARDS")):
            writes.append((statement, cursor.rowcount))

    event.listen(engine, "after_cursor_execute", note)
    try:
        yield writes
    finally:
        event.remove(engine, "after_cursor_execute", note)


@contextmanager
def _statements_of_this_task(core: Core) -> Iterator[list[str]]:
    """Each statement the current task sends while inside, as its verb and first table (``SELECT cards``). The
    request runs in the task that calls the app; the outbox's bookkeeping runs in tasks of its own and is left out."""
    statements: list[str] = []
    engine: Engine = core.app.state.ctx.db.engine.sync_engine
    task = asyncio.current_task()

    def note(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
        if asyncio.current_task() is task:
            statements.append(_verb_and_table(statement))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _verb_and_table(statement: str) -> str:
    words = statement.split()
    if words[0].upper() in ("SAVEPOINT", "RELEASE", "SET"):
        return " ".join(w for w in words[:2] if not w.startswith("sa_savepoint")).upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement, re.IGNORECASE)
    return f"{words[0].upper()} {table.group(1) if table else ''}".rstrip()


def _authorization_statements(core: Core) -> list[str]:
    """What every request on a card sends before its own work: the card's workspace, then (PostgreSQL) the
    transaction's role and tenant for row-level security, then the caller's membership."""
    if not core.app.state.ctx.db.is_postgres:
        return ["SELECT resource_index", "SELECT members"]
    return ["SET LOCAL", "SELECT resource_index", "SELECT", "SELECT members"]


async def test_a_move_reads_the_lanes_and_the_card_in_two_statements_and_writes_one_row(core: Core) -> None:
    """Counted, not timed: whatever the lane's length or the place, a move locks its lanes in one statement, the
    card with its position and its new neighbours' keys in another, writes the card and its event, and commits
    with its audit row and the board's revision."""
    a, lane, cards = await _lane_of_cards(core, 30)
    move = [
        "SAVEPOINT",
        "SELECT lanes",
        "SELECT cards",
        "UPDATE cards",
        "INSERT outbox",
        "RELEASE SAVEPOINT",
        "INSERT audit_log",
        "UPDATE boards",
    ]
    expected = [*_authorization_statements(core), *move]
    for card, target, position in (
        (cards[3], lane, 20),
        (cards[20], lane, 0),
        (cards[0], lane, None),
        (cards[10], a["lanes"][2], 0),
    ):
        with _statements_of_this_task(core) as statements:
            await _move(core, card, target, position)
        assert statements == expected, (position, statements)


def test_keys_fall_strictly_between_their_neighbours_and_run_out_only_in_a_closed_gap() -> None:
    assert order.key_between(None, None) == order.START
    for _ in range(200):
        after_last = order.key_between(order.START, None)
        before_first = order.key_between(None, order.START)
        between = order.key_between(10, 30)
        assert after_last is not None
        assert before_first is not None
        assert order.START < after_last < order.START + 2 * order.SPACING
        assert order.START - 2 * order.SPACING < before_first < order.START
        assert between is not None
        assert 15 <= between <= 25  # the middle half, so a gap shrinks at least by a quarter each time
        assert order.key_between(10, 12) == 11
    assert order.key_between(10, 11) is None
    assert order.key_between(10, 10) is None  # a tie (concurrent moves): the lane must be re-keyed
    assert order.key_between(order.HIGH - 2, None) == order.HIGH - 1
    assert order.key_between(order.HIGH - 1, None) is None
    assert order.key_between(None, order.LOW + 1) is None
    keys = order.spread(5)
    assert keys == sorted(set(keys))
    assert keys[0] > order.LOW
    assert keys[-1] < order.HIGH


def test_concurrent_placements_in_one_gap_almost_never_tie() -> None:
    keys = {order.key_between(order.START, order.START + order.SPACING) for _ in range(100)}
    assert len(keys) > 90


async def test_a_move_writes_the_moved_cards_row_and_no_other(core: Core) -> None:
    a, lane, cards = await _lane_of_cards(core, 6)
    for card, position in ((cards[5], 0), (cards[0], 5), (cards[2], 3)):
        with _writes_to_cards(core) as writes:
            await _move(core, card, lane, position)
        assert [rows for _statement, rows in writes] == [1], writes
    with _writes_to_cards(core) as writes:
        await _move(core, cards[3], a["lanes"][2], 0)
    assert [rows for _statement, rows in writes] == [1], writes


async def test_moves_to_the_top_the_bottom_and_between_keep_positions_dense(core: Core) -> None:
    a, lane, cards = await _lane_of_cards(core, 5)
    expected = list(cards)
    for card, position in ((cards[4], 0), (cards[0], 4), (cards[1], 2), (cards[3], None), (cards[2], 99)):
        answer = await _move(core, card, lane, position)
        expected.remove(card)
        expected.insert(len(expected) if position is None else min(position, len(expected)), card)
        assert answer["position"] == expected.index(card)
        shown = await _lane(core, a, lane)
        assert [c["id"] for c in shown] == expected
        assert [c["position"] for c in shown] == list(range(len(expected)))
    moved = [e for e in core.sink.events() if isinstance(e, CardMoved)]
    assert [(m.from_position, m.to_position) for m in moved] == [(4, 0), (1, 4), (1, 2), (3, 4), (1, 4)]
    assert [m.card.position for m in moved] == [m.to_position for m in moved]
    single = await core.ok("GET", f"/api/cards/{cards[1]}", _member(core))
    assert single["position"] == expected.index(cards[1])


async def test_a_gap_filled_again_and_again_is_re_keyed_and_keeps_its_order(core: Core) -> None:
    a, lane, cards = await _lane_of_cards(core, 4)
    expected = list(cards)
    for _ in range(80):  # each move shrinks the gap after the first card to at most 3/4: a re-key every few dozen
        card = expected[-1]
        assert (await _move(core, card, lane, 1))["position"] == 1
        expected.remove(card)
        expected.insert(1, card)
    assert [c["id"] for c in await _lane(core, a, lane)] == expected
    async with _database(core) as database, database.connect() as connection:
        query = text("SELECT order_key FROM cards WHERE lane_id = :lane")
        keys = [key for (key,) in (await connection.execute(query, {"lane": _db_id(core, lane)})).all()]
    assert len(keys) == 4
    assert all(order.LOW < key < order.HIGH for key in keys)


async def test_cards_with_the_same_key_keep_an_order_and_a_move_between_them_re_keys_the_lane(core: Core) -> None:
    a, lane, cards = await _lane_of_cards(core, 4)
    async with _database(core) as database, database.begin() as connection:  # as concurrent moves can leave them
        tie = text("UPDATE cards SET order_key = :key WHERE id IN (:one, :two)")
        ids = {"one": _db_id(core, cards[1]), "two": _db_id(core, cards[2])}
        tied_rows = await connection.execute(tie, {"key": order.START + order.SPACING, **ids})
    assert tied_rows.rowcount == 2
    tied = sorted(cards[1:3], key=lambda card: _db_id(core, card))
    ordered = [c["id"] for c in await _lane(core, a, lane)]
    assert ordered == [cards[0], *tied, cards[3]]  # by id where keys tie
    await _move(core, cards[3], lane, ordered.index(tied[1]))
    expected = [card for card in ordered if card != cards[3]]
    expected.insert(expected.index(tied[1]), cards[3])
    assert [c["id"] for c in await _lane(core, a, lane)] == expected


@asynccontextmanager
async def _database(core: Core) -> AsyncIterator[AsyncEngine]:
    """The test database as its owner sees it (the app's own connections see one tenant's rows at a time)."""
    engine = create_async_engine(core.app.state.ctx.settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _db_id(core: Core, value: str) -> str:
    """How the database spells an id in SQL: PostgreSQL's uuid, or SQLite's 32 hex digits."""
    return value if core.app.state.ctx.db.is_postgres else uuid.UUID(value).hex


async def test_concurrent_moves_leave_every_card_once_in_one_order(core: Core) -> None:
    a, lane, cards = await _lane_of_cards(core, 40)
    rng = random.Random(7)
    for _round in range(3):
        movers = rng.sample(cards, 16)
        targets = [0, 0, 0, 0, *(rng.randrange(40) for _ in range(12))]  # four to the same place
        await asyncio.gather(*(_move(core, card, lane, target) for card, target in zip(movers, targets, strict=True)))
        shown = await _lane(core, a, lane)
        assert sorted(c["id"] for c in shown) == sorted(cards)
        assert [c["position"] for c in shown] == list(range(40))
        for card in shown:
            single = await core.ok("GET", f"/api/cards/{card['id']}", _member(core))
            assert single["position"] == card["position"]
    # A move after them lands where it was sent, whatever keys they left (two at the top may share one).
    now = [c["id"] for c in await _lane(core, a, lane)]
    await _move(core, now[-1], lane, 1)
    assert [c["id"] for c in await _lane(core, a, lane)] == [now[0], now[-1], *now[1:-1]]


async def test_a_wip_limit_holds_under_concurrent_moves_in_and_within_the_lane(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    build = a["lanes"][5]
    await core.ok("PATCH", f"/api/lanes/{build}", world.member, {"wip_limit": 3})
    inside = [
        (await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "in", "lane_id": build}))[
            "id"
        ]
        for _ in range(2)
    ]
    outside = [
        (await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": f"out {n}"}))["id"]
        for n in range(8)
    ]
    calls = [
        *(
            core.call("PUT", f"/api/cards/{card}/move", world.member, {"lane_id": build, "position": 0})
            for card in outside
        ),
        *(
            core.call("PUT", f"/api/cards/{card}/move", world.member, {"lane_id": build, "position": 2})
            for card in inside
        ),
    ]
    answers = await asyncio.gather(*calls)
    into = [r.status_code for r in answers[: len(outside)]]
    assert sorted(into) == [200, *[409] * 7]
    assert [r.status_code for r in answers[len(outside) :]] == [200, 200]
    shown = await _lane(core, a, build)
    assert len(shown) == 3
    assert set(inside) < {c["id"] for c in shown}


async def test_a_move_does_not_wait_for_another_card_of_the_lane_being_written(core: Core) -> None:
    """An edit or move in flight on one card holds that card's row; a move of another card of the lane goes on."""
    if not core.app.state.ctx.db.is_postgres:
        pytest.skip("SQLite runs one writer at a time")
    _a, lane, cards = await _lane_of_cards(core, 5)
    engine = create_async_engine(core.app.state.ctx.settings.database_url)
    try:
        async with engine.connect() as other:
            await other.execute(text("UPDATE cards SET title = 'being edited' WHERE id = :id"), {"id": cards[2]})
            moved = await asyncio.wait_for(_move(core, cards[4], lane, 0), timeout=60)  # a hang guard, not a timing
            await other.rollback()
    finally:
        await engine.dispose()
    assert moved["position"] == 0


async def test_existing_positions_migrate_to_keys_in_the_same_order(core: Core) -> None:
    a, lane, cards = await _lane_of_cards(core, 6)
    await _move(core, cards[5], lane, 0)
    await _move(core, cards[1], lane, 3)
    expected = [c["id"] for c in await _lane(core, a, lane)]
    url = core.app.state.ctx.settings.database_url
    await core.app.state.ctx.db.engine.dispose()
    config = alembic_config(MIGRATIONS, url)
    await asyncio.to_thread(command.downgrade, config, "0009")
    lane_id = _db_id(core, lane)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            query = text("SELECT id, position FROM cards WHERE lane_id = :lane ORDER BY position")
            rows = (await connection.execute(query, {"lane": lane_id})).all()
            assert [_text_id(card_id) for card_id, _ in rows] == expected
            assert [position for _, position in rows] == list(range(6))
            # Positions as the old code kept them, reversed, to see the migration follow them rather than the rows.
            reverse = text("UPDATE cards SET position = 5 - position WHERE lane_id = :lane")
            await connection.execute(reverse, {"lane": lane_id})
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            query = text("SELECT id, order_key FROM cards WHERE lane_id = :lane ORDER BY order_key, id")
            rows = (await connection.execute(query, {"lane": lane_id})).all()
    finally:
        await engine.dispose()
    assert [_text_id(card_id) for card_id, _ in rows] == expected[::-1]
    keys = [key for _, key in rows]
    assert keys == order.spread(6)


def _text_id(value: object) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


async def test_moves_crowding_one_gap_re_key_the_lane_and_all_succeed(core: Core) -> None:
    """16 moves at a time into one gap close it again and again: each re-key holds the lane alone, and a move
    that finds the gap closed after choosing to share the lane runs again holding it alone, so none is refused."""
    a, lane, cards = await _lane_of_cards(core, 20)
    answers = []
    with _writes_to_cards(core) as writes:
        for _round in range(8):
            moves = (_call_move(core, card, lane, 1) for card in cards[4:])
            answers += await asyncio.gather(*moves)
    assert [(r.status_code, r.text) for r in answers if r.status_code != 200] == []
    assert any(rows > 1 for _statement, rows in writes)  # the lane was re-keyed at least once
    shown = await _lane(core, a, lane)
    assert sorted(c["id"] for c in shown) == sorted(cards)
    assert [c["position"] for c in shown] == list(range(20))


async def test_concurrent_appends_and_moves_are_never_refused(core: Core) -> None:
    """Cards created at the end, moved to the end, to the top and between, all at once in one lane: every
    request succeeds and the lane holds each card once at positions 0…n-1."""
    a, lane, cards = await _lane_of_cards(core, 30)
    rng = random.Random(11)
    for round_ in range(3):
        calls = [
            *(
                core.call(
                    "POST",
                    f"/api/projects/{a['project']}/cards",
                    _member(core),
                    {"title": f"new {round_}.{n}", "lane_id": lane},
                )
                for n in range(6)
            ),
            *(core.call("PUT", f"/api/cards/{card}/move", _member(core), {"lane_id": lane}) for card in cards[:4]),
            *(_call_move(core, card, lane, rng.choice([0, 1, rng.randrange(30)])) for card in rng.sample(cards[4:], 8)),
        ]
        answers = await asyncio.gather(*calls)
        assert [(r.status_code, r.text) for r in answers if r.status_code not in (200, 201)] == []
        cards += [r.json()["id"] for r in answers[:6]]
        shown = await _lane(core, a, lane)
        assert sorted(c["id"] for c in shown) == sorted(cards)
        assert [c["position"] for c in shown] == list(range(len(cards)))


async def test_a_move_broken_off_by_a_deadlock_runs_again(core: Core) -> None:
    """Another transaction holds the card, the move waits for it while sharing the lane, and the other then asks
    for the lane alone: PostgreSQL breaks the deadlock by failing the move's statement, and the move runs
    again once the lane is free instead of answering 500."""
    if not core.app.state.ctx.db.is_postgres:
        pytest.skip("SQLite runs one writer at a time, so its writers never deadlock")
    _a, lane, cards = await _lane_of_cards(core, 5)
    async with _database(core) as database, database.connect() as other, database.connect() as watcher:
        # The other side waits long before looking for a deadlock, so the move's side is the one PostgreSQL fails.
        await other.execute(text("SET deadlock_timeout = '60s'"))
        await other.execute(text("UPDATE cards SET title = 'held' WHERE id = :id"), {"id": _db_id(core, cards[2])})
        move = asyncio.create_task(_call_move(core, cards[2], lane, 0))
        await _until_a_session_waits_for_a_lock(watcher, 1)
        lane_alone = text("SELECT id FROM lanes WHERE id = :id FOR UPDATE")
        await other.execute(lane_alone, {"id": _db_id(core, lane)})  # granted once the move's savepoint is gone
        await other.rollback()
        answer = await asyncio.wait_for(move, timeout=120)  # a hang guard, not a timing
    assert answer.status_code == 200, answer.text
    assert answer.json()["position"] == 0


async def _until_a_session_waits_for_a_lock(watcher: Any, count: int) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while (await watcher.execute(query)).scalar_one() < count:
        await watcher.rollback()
        await asyncio.sleep(0.05)  # polling the server's own view of who waits: there is no event to await
    await watcher.rollback()


async def _call_move(core: Core, card: str, lane: str, position: int) -> Any:
    return await core.call("PUT", f"/api/cards/{card}/move", _member(core), {"lane_id": lane, "position": position})
