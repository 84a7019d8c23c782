"""The web app end to end in headless Chromium, against the fleet started as `make dev` starts it.

An owner signs up, creates a workspace and project, adds cards (reordering them with the keyboard), makes
lane 1 an approval gate and drags a card into it; the card's terminal streams the PRD agent's output to its
end, the run's price lands on the card and on the usage dashboard, and the owner approves the held run; a
second browser sees the move live; a viewer, invited through the link the owner is shown, cannot drag. A card's
tool-using runs read as transcripts: Markdown prose, collapsible tool steps, a tab per agent of the lane, both
from published step events and from the orchestrator's own loop (lane 5's developers, offline).
The card drawer keeps its title, lane, state and actions in view at laptop, tablet and phone sizes. A card
branch pushed with git through the gateway shows its highlighted diff in the card's Code section, a member
merges it, and the project's repository page lists the branch and main's files.
Screenshots of every open page are saved to test-artifacts/ when a step fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from agentworks_events import (
    AgentRunStarted,
    AgentRunStep,
    CardUpdateEffect,
    ChecklistItem,
    CommentEffect,
    DocumentWriteEffect,
    ImageEffect,
    RunEffect,
    RunTokens,
    ToolCallRecord,
)
from agentworks_events.runs import step_id_for
from agentworks_localstack.dev_process import dev_fleet
from agentworks_localstack.fleet import EMULATOR_PORT, FLEET, free_port_offset
from agentworks_localstack.threads import AppThread
from agentworks_pubsub.testing import publish_all
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from .openai_upstream import app as openai_upstream

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]
# Actions and assertions wait alike: on two busy cores (the fleet, Chromium and the other tests' workers) a page can
# take seconds to show what a step expects, past Playwright's 5 s default for assertions.
ACTION_TIMEOUT_MS = 20_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("AW_CHROMIUM", "/usr/bin/chromium")
GIT = "/usr/bin/git"
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct horse battery"
# Chromium on a closed network: no background fetches, no sandbox as root in CI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Fleet:
    url: str
    emulator_host: str


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    dist = ROOT / "services" / "gateway" / "web" / "dist" / "index.html"
    assert dist.exists(), "build the web app first: make web (make test does)"
    upstream = AppThread(openai_upstream).start()
    offset = free_port_offset()
    url = f"http://127.0.0.1:{FLEET[0].port + offset}"
    env = {
        **os.environ,
        "AW_GATEWAY_ALLOWED_ORIGINS": json.dumps([url]),
        "OPENAI_API_KEY": "sk-e2e",
        "AW_PROVIDER_ROUTER_OPENAI_BASE_URL": f"{upstream.url}/v1",
    }
    emulator_host = f"127.0.0.1:{EMULATOR_PORT + offset}"
    try:
        with (
            dev_fleet(tmp_path_factory.mktemp("fleet"), offset, env) as gateway,
            pytest.MonkeyPatch.context() as patch,
        ):
            assert gateway == url
            patch.setenv("PUBSUB_EMULATOR_HOST", emulator_host)  # tests publish events as the orchestrator does
            yield Fleet(url, emulator_host)
    finally:
        upstream.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: make test installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextlib.contextmanager
def screenshots_on_failure(name: str, contexts: list[BrowserContext]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        for c, context in enumerate(contexts):
            for p, page in enumerate(context.pages):
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(ARTIFACTS / f"{name}-{c}-{p}.png"), full_page=True)
        raise


def _context(browser: Browser, fleet: Fleet, width: int = 1366) -> BrowserContext:
    context = browser.new_context(base_url=fleet.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def _sign_up(page: Page, name: str, email: str) -> None:
    page.goto("/signup")
    _fill_sign_up(page, name, email)


def _fill_sign_up(page: Page, name: str, email: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def _drag(page: Page, card_title: str, lane_number: int) -> None:
    """A real pointer drag: press on the card, move past dnd-kit's activation distance, release on the lane."""
    card = page.locator(f'[data-card="{card_title}"]')
    lane = page.locator(f'section[data-lane="{lane_number}"] .lane-cards')
    start, target = card.bounding_box(), lane.bounding_box()
    assert start is not None
    assert target is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + start["height"] / 2 + 10, steps=5)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 30, steps=20)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 32, steps=2)
    page.mouse.up()


def _lane(page: Page, number: int) -> object:
    return page.locator(f'section[data-lane="{number}"]')


def _press_until_announced(page: Page, key: str, announcement: str) -> None:
    """Press a key of a keyboard drag until the screen-reader announcement says the card is where it should be.

    Right after a lift the sortable measures the lanes' cards; an arrow pressed before it has any measurement
    moves nothing, as a person would notice and press again."""
    region = page.locator('[id^="DndLiveRegion"]')
    for _ in range(5):
        page.keyboard.press(key)
        try:
            expect(region).to_contain_text(announcement, timeout=3000)
            return
        except AssertionError:
            continue
    expect(region).to_contain_text(announcement)


def _faces(*titles: str) -> list[re.Pattern[str]]:
    """The titles on the cards' faces, each after its card's short id (SHOP-42)."""
    return [re.compile(rf"^[A-Z][A-Z0-9]*-\d+ {re.escape(title)}$") for title in titles]


def test_owner_moves_a_card_and_watches_the_agent_while_others_see_it_live(browser: Browser, fleet: Fleet) -> None:
    owner_email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    viewer_email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    owner, watcher, viewer = _context(browser, fleet), _context(browser, fleet), _context(browser, fleet, width=820)
    with screenshots_on_failure("web-app", [owner, watcher, viewer]):
        page = owner.new_page()
        _sign_up(page, "Ada", owner_email)
        page.get_by_label("Workspace name").fill("Acme Labs")
        page.get_by_role("button", name="Create workspace").click()
        page.get_by_label("Project name").fill("Checkout")
        page.get_by_role("button", name="Create project").click()
        expect(page).to_have_url(re.compile(r"/w/[^/]+/p/[^/]+/board$"))
        board_url = page.url
        expect(page.locator("section.lane")).to_have_count(9)

        page.get_by_label("New card title").fill("One-click checkout")
        page.get_by_role("button", name="Add", exact=True).click()
        card = page.locator('[data-card="One-click checkout"]')
        expect(_lane(page, 0).locator('[data-card="One-click checkout"]')).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_test_id("wip-0")).to_have_text(re.compile(r"^1"))
        # Keyboard dragging: Space lifts the focused card, an arrow moves it, Space drops it.
        page.get_by_label("New card title").fill("Refunds")
        page.get_by_role("button", name="Add", exact=True).click()
        lane_zero = _lane(page, 0).locator(".card-title")  # type: ignore[attr-defined]
        expect(lane_zero).to_have_text(_faces("One-click checkout", "Refunds"))
        refunds = page.locator('[data-card="Refunds"]')
        refunds.focus()
        page.keyboard.press("Space")
        expect(refunds).to_have_attribute("aria-pressed", "true")  # lifted
        _press_until_announced(page, "ArrowUp", "Moved card Refunds over card One-click checkout")
        with page.expect_response(re.compile(r"/api/cards/[^/]+/move$")) as saved:  # shown at once, then saved
            page.keyboard.press("Space")
            expect(lane_zero).to_have_text(_faces("Refunds", "One-click checkout"))
        assert saved.value.ok
        expect(refunds).to_be_focused()  # focus stays on the dropped card
        page.reload()
        expect(lane_zero).to_have_text(_faces("Refunds", "One-click checkout"))  # the server kept the order

        # Lane 1 becomes an approval gate: its runs wait for a person's decision.
        page.get_by_label("Settings of Product").click()
        gate = page.get_by_role("form", name="Product settings")
        gate.get_by_label("Approval gate").check()
        gate.get_by_role("button", name="Save").click()
        expect(_lane(page, 1).locator(".gate-mark")).to_be_visible()  # type: ignore[attr-defined]

        # The owner invites a viewer and is shown the one-time link to send them.
        workspace_url = board_url.split("/p/")[0]
        page.goto(f"{workspace_url}/members")
        page.get_by_label("Email to invite").fill(viewer_email)
        page.get_by_label("Role to invite as").select_option("viewer")
        page.get_by_role("button", name="Invite").click()
        expect(page.get_by_role("cell", name=viewer_email)).to_be_visible()
        invite_link = page.get_by_test_id("invite-link").inner_text()
        assert re.fullmatch(re.escape(fleet.url) + r"/invite#awi_[\w-]{43}", invite_link), invite_link
        page.goto(board_url)

        watch = watcher.new_page()
        watch.goto("/signin")
        watch.get_by_label("Email").fill(owner_email)
        watch.get_by_label("Password").fill(PASSWORD)
        watch.get_by_role("button", name="Sign in").click()
        watch.wait_for_url(re.compile(r"/w/"))
        watch.goto(board_url)
        expect(_lane(watch, 0).locator('[data-card="One-click checkout"]')).to_be_visible()  # type: ignore[attr-defined]

        _drag(page, "One-click checkout", 1)
        expect(_lane(page, 1).locator('[data-card="One-click checkout"]')).to_be_visible()  # type: ignore[attr-defined]
        # The second browser sees the move without reloading.
        expect(_lane(watch, 1).locator('[data-card="One-click checkout"]')).to_be_visible()  # type: ignore[attr-defined]

        card.click()
        # The drawer sets the card's priority; the card shows it, here and live in the other browser.
        fields = page.get_by_role("form", name="Card fields")
        fields.get_by_label("Priority").select_option("urgent")
        fields.get_by_role("button", name="Save").click()
        expect(card.get_by_test_id("card-priority")).to_have_text("urgent")
        expect(watch.locator('[data-card="One-click checkout"]').get_by_test_id("card-priority")).to_have_text("urgent")
        # The PRD agent works through its tools: the transcript shows its steps, the raw log the whole run.
        tabs = page.get_by_test_id("transcript-tab")
        expect(tabs).to_have_text(["PRD", "Raw log"], timeout=60_000)
        transcript = page.get_by_test_id("transcript")
        expect(transcript).to_contain_text("wrote the PRD, left a note for the team", timeout=60_000)
        expect(transcript.get_by_test_id("tool-call")).to_have_count(4)  # the card, its documents, the PRD, a note
        tabs.last.click()
        # xterm keeps only the visible rows in the DOM: the end of the run and its end marker
        expect(page.get_by_test_id("terminal")).to_contain_text("PRD run finished", timeout=60_000)
        run_row = page.get_by_test_id("run-row").first
        expect(run_row).to_contain_text("openai / gpt-5")
        # A finished run a gate holds reads as awaiting approval, in its row and in the drawer's header.
        expect(run_row).not_to_contain_text("completed")
        expect(page.get_by_test_id("drawer-state")).to_have_text("PRD awaiting approval")
        expect(page.get_by_test_id("run-price").first).to_have_text("$0.25")
        expect(card.get_by_test_id("card-price")).to_have_text("$0.25", timeout=30_000)
        # The gate holds the run: rejecting it with a comment has the PRD agent redo the work ...
        expect(page.get_by_test_id("run-approval").first).to_have_text("awaiting approval")
        page.get_by_role("button", name="Reject").click()
        page.get_by_label("What should change").fill("Cover refunds too")
        page.get_by_role("button", name="Reject and redo").click()
        expect(page.get_by_test_id("run-row")).to_have_count(2, timeout=30_000)
        expect(page.get_by_test_id("run-approval")).to_have_text(["awaiting approval", "rejected"], timeout=60_000)
        # ... and approving the redone run lets it through.
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_test_id("run-approval")).to_have_text(["approved", "rejected"])
        expect(page.get_by_test_id("card-total-price")).to_have_text("$0.50")
        expect(card.get_by_test_id("card-price")).to_have_text("$0.50", timeout=30_000)

        # The two runs each wrote a version of the card's own PRD; the drawer shows the newest and who wrote it.
        page.reload()
        attribution = page.get_by_test_id("card-document-attribution")
        expect(attribution).to_contain_text("v2", timeout=30_000)
        expect(attribution).to_contain_text("by PRD (run ")
        expect(page.get_by_test_id("card-document").locator("h1")).to_have_text("PRD: One-click checkout")

        # The project's documents page lists the card's PRD under its card, opens on it, and compares its versions.
        page.goto(board_url.removesuffix("/board") + "/documents")
        group = page.get_by_test_id("document-group").filter(has_text="One-click checkout")
        expect(group.get_by_role("button")).to_have_text(["PRD: One-click checkout"])
        expect(page.get_by_test_id("document-attribution")).to_contain_text("v2")
        expect(page.get_by_test_id("document-attribution")).to_contain_text("by PRD on “One-click checkout” (run ")
        expect(page.get_by_test_id("document-markdown").locator("h1")).to_have_text("PRD: One-click checkout")
        page.get_by_label("Compare with").select_option("1")
        expect(page.get_by_label("Changes from v1 to v2")).to_be_visible()
        group.get_by_role("link", name="One-click checkout").click()  # back to the card, open on the board
        expect(page.get_by_test_id("card-document-attribution")).to_contain_text("v2")

        # A full lane refuses a move in place, and the card stays where it was (the first lane holds Refunds: the
        # PRD agent does not break work down into child cards).
        page.get_by_label("Settings of Vision & Strategy").click()
        settings = page.get_by_role("form", name="Vision & Strategy settings")
        settings.get_by_label("WIP limit").fill("1")
        settings.get_by_role("button", name="Save").click()
        expect(page.get_by_test_id("wip-0")).to_have_text("1 / 1")
        page.get_by_label("Close card").click()
        _drag(page, "One-click checkout", 0)
        expect(_lane(page, 0).locator(".refusal")).to_contain_text("WIP limit (1/1)")  # type: ignore[attr-defined]
        expect(_lane(page, 1).locator('[data-card="One-click checkout"]')).to_be_visible()  # type: ignore[attr-defined]

        # API keys: shown once at creation, then only their prefix; revoked in place.
        page.goto(f"{workspace_url}/api-keys")
        page.get_by_label("Key name").fill("ci-pipeline")
        page.get_by_role("button", name="Create key").click()
        expect(page.get_by_test_id("new-key")).to_have_text(re.compile(r"^aw_"))
        page.get_by_role("button", name="Done").click()
        expect(page.get_by_test_id("new-key")).to_have_count(0)
        page.get_by_role("button", name="Revoke").click()
        expect(page.get_by_text(re.compile(r"^revoked"))).to_be_visible()

        # The CEO CoPilot answers in the console, streamed.
        page.goto(board_url.replace("/board", "/console"))
        page.get_by_label("Question").fill("What should we build first?")
        page.get_by_role("button", name="Ask").click()
        expect(page.get_by_test_id("copilot-answer")).to_contain_text("Working on", timeout=30_000)

        page.goto(f"{workspace_url}/usage")
        expect(page.get_by_test_id("usage-price")).to_have_text(re.compile(r"^\$0\.(50|75)$"), timeout=30_000)
        # The most expensive cards are named by their titles and link to the card on its board.
        expect(page.get_by_test_id("usage-card").first.get_by_role("link")).to_have_text("One-click checkout")
        expect(page.get_by_role("link", name="Board")).to_be_visible()  # the workspace page keeps the project

        # The viewer opens the link, signs up with the invited address (which alone grants nothing) and accepts.
        seen = viewer.new_page()
        seen.goto(invite_link)
        seen.get_by_role("link", name="Create an account").click()
        _fill_sign_up(seen, "Vic", viewer_email)
        accept = seen.get_by_role("button", name="Accept invitation")
        expect(accept).to_be_visible()
        workspace_id = workspace_url.rsplit("/w/", 1)[1]
        assert seen.request.get(f"/api/workspaces/{workspace_id}").status == 404
        accept.click()
        seen.wait_for_url(re.compile(re.escape(workspace_url) + "$"))
        # The viewer sees the board and the charge but cannot drag.
        seen.goto(board_url)
        viewer_card = _lane(seen, 1).locator('[data-card="One-click checkout"]')  # type: ignore[attr-defined]
        expect(viewer_card).to_be_visible()
        expect(viewer_card).to_have_attribute("aria-roledescription", "card")
        expect(seen.get_by_label("New card title")).to_have_count(0)
        _drag(seen, "One-click checkout", 2)
        seen.wait_for_timeout(500)
        expect(_lane(seen, 1).locator('[data-card="One-click checkout"]')).to_be_visible()  # type: ignore[attr-defined]
        expect(_lane(page, 2).locator('[data-card="One-click checkout"]')).to_have_count(0)  # type: ignore[attr-defined]
        # ... and sees charges on the billing page, never provider costs.
        seen.goto(f"{workspace_url}/billing")
        expect(seen.get_by_test_id("billing-price")).to_have_text(re.compile(r"^\$0\.(50|75)$"))
        expect(seen.get_by_text("Provider cost", exact=True)).to_have_count(0)


def _publish(*events: AgentRunStarted | AgentRunStep) -> None:
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's event loop
        thread.submit(asyncio.run, publish_all(events)).result()


def _tool_run(
    ids: dict[str, uuid.UUID],
    agent: str,
    steps: list[tuple[str, tuple[ToolCallRecord, ...]]],
    effects: tuple[RunEffect, ...] = (),
) -> list[Any]:
    """A tool-using run's events as the orchestrator's loop publishes them: started, then one per step."""
    run_id = uuid.uuid4()
    where = {"workspace_id": ids["workspace"], "project_id": ids["project"], "card_id": ids["card"], "agent": agent}
    started = AgentRunStarted(
        **where, run_id=run_id, provider="anthropic", model="claude-sonnet-4-6", trigger_event_id=uuid.uuid4()
    )
    return [started] + [
        AgentRunStep(
            **where,
            id=step_id_for(run_id, number),
            run_id=run_id,
            step=number,
            text=text,
            tool_calls=calls,
            effects=effects if number == 1 else (),
            tokens=RunTokens(input_tokens=100 * number, output_tokens=10 * number),
            cost=Decimal("0.01") * number,
            duration_ms=800,
        )
        for number, (text, calls) in enumerate(steps, start=1)
    ]


def test_a_lanes_two_agents_show_their_transcripts_in_separate_tabs(browser: Browser, fleet: Fleet) -> None:
    owner = _context(browser, fleet)
    with screenshots_on_failure("transcript", [owner]):
        page = owner.new_page()
        opened = _new_project_with_card(page, "Card vault")
        ids = {name: uuid.UUID(value) for name, value in opened.items()}
        # Lane 5 runs both developers, and says so.
        expect(_lane(page, 5).get_by_test_id("lane-agent")).to_have_text(  # type: ignore[attr-defined]
            ["Backend developer", "Frontend developer"]
        )

        read = ToolCallRecord(
            call_id="call-1", tool="read_card", arguments={}, ok=True, result="Card vault: store cards safely."
        )
        failed = ToolCallRecord(
            call_id="call-2", tool="read_document", arguments={"name": "prd"}, ok=False, error="no document prd"
        )
        spec = DocumentWriteEffect(
            call_id="call-3", name="tech_spec", title="Vault spec", content="# Vault\n\nCards are **tokenised**."
        )
        written = ToolCallRecord(call_id="call-3", tool="write_document", arguments={"name": "tech_spec"}, ok=True)
        # A person is part way through editing the title when the run changes the description.
        page.get_by_label("Card details").get_by_label("Title", exact=True).fill("Card vault, tokenised")
        updated = CardUpdateEffect(
            call_id="call-4",
            description="Store only tokens of card numbers.",
            checklist=(ChecklistItem(text="Tokenise numbers", done=True), ChecklistItem(text="Mask the form")),
        )
        remark = CommentEffect(call_id="call-5", card_id=ids["card"], body="The spec is **written**.")
        drawn = ImageEffect(call_id="call-6", name="vault.png", prompt="A vault for cards")
        backend = _tool_run(
            ids,
            "dev_backend",
            [("## Plan\n\nI will **tokenise** the card number.", (read, failed, written)), ("Done.", ())],
            (spec, updated, remark, drawn),
        )
        frontend = _tool_run(ids, "dev_frontend", [("The form needs *masked* input.", ())])
        _publish(*backend, *frontend)

        tabs = page.get_by_test_id("transcript-tab")
        expect(tabs).to_have_text(["Backend developer", "Frontend developer", "Raw log"], timeout=30_000)
        # The run changed the description under the person's edit: the edit stays, and the drawer says so.
        drawer = page.get_by_label("Card details")
        expect(drawer.get_by_test_id("card-changed")).to_be_visible(timeout=30_000)
        expect(drawer.get_by_label("Title", exact=True)).to_have_value("Card vault, tokenised")
        drawer.get_by_role("button", name="Show the saved card").click()
        expect(drawer.get_by_label("Description", exact=True)).to_have_value("Store only tokens of card numbers.")
        transcript = page.get_by_test_id("transcript")
        expect(transcript.locator("h2")).to_have_text("Plan")
        expect(transcript.locator("strong")).to_have_text("tokenise")
        steps = transcript.get_by_test_id("tool-call")
        expect(steps).to_have_count(3)
        expect(transcript.get_by_text("Card vault: store cards safely.")).to_be_hidden()  # folded
        steps.first.locator("summary").click()
        expect(transcript.get_by_text("Card vault: store cards safely.")).to_be_visible()
        expect(steps.nth(1).locator("summary")).to_contain_text("no document prd")  # the error in place
        expect(transcript).not_to_contain_text("masked")

        tabs.nth(1).click()
        expect(transcript.locator("em")).to_have_text("masked")
        expect(transcript).not_to_contain_text("tokenise")
        page.reload()  # replayed exactly: the same steps, once each
        expect(tabs).to_have_text(["Backend developer", "Frontend developer", "Raw log"])
        tabs.first.click()
        expect(page.get_by_test_id("transcript").get_by_test_id("tool-call")).to_have_count(3)
        expect(page.get_by_test_id("transcript").locator(".transcript-step")).to_have_count(2)
        # The document the backend developer wrote is the card's own, rendered, and says who wrote it.
        expect(page.get_by_test_id("card-document").locator("h1")).to_have_text("Vault")
        expect(page.get_by_test_id("card-document-attribution")).to_contain_text("by Backend developer (run ")
        _drawer_shows_the_runs_card_effects(page)


def _drawer_shows_the_runs_card_effects(page: Page) -> None:
    """The open drawer shows what the backend developer's step did to the card, and a person can comment."""
    drawer = page.get_by_label("Card details")
    expect(drawer.get_by_label("Description", exact=True)).to_have_value("Store only tokens of card numbers.")
    checklist = drawer.get_by_label("Checklist", exact=True)
    expect(checklist).to_contain_text("1 of 2 done")
    expect(checklist.locator("li")).to_have_text(["Tokenise numbers", "Mask the form"])
    expect(drawer.get_by_label("Images").locator("figcaption")).to_contain_text("vault.png · by Backend developer")
    comments = drawer.get_by_test_id("comment")
    expect(comments).to_have_count(1)
    expect(comments.first.locator("strong")).to_have_text("written")
    expect(comments.first).to_contain_text("Backend developer (run ")
    drawer.get_by_label("Comment", exact=True).fill("Looks right to me.")
    drawer.get_by_role("button", name="Comment", exact=True).click()
    expect(comments).to_have_count(2)
    expect(comments.nth(1)).to_contain_text("You")
    expect(comments.nth(1)).to_contain_text("Looks right to me.")


def _new_project_with_card(page: Page, title: str) -> dict[str, str]:
    """Sign up, create a workspace and project, add a card and open it; the ids in the page's address."""
    _sign_up(page, "Grace", f"grace-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Workspace name").fill("Transcripts")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_label("Project name").fill("Payments")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/p/[^/]+/board$"))
    page.get_by_label("New card title").fill(title)
    page.get_by_role("button", name="Add", exact=True).click()
    card = page.locator(f'[data-card="{title}"]')
    card.click()
    page.wait_for_url(re.compile(r"/cards/[A-Za-z0-9]+-[0-9]+$"))
    workspace, project = re.findall(r"/(?:w|p)/([0-9a-f-]{36})", page.url)
    card_id = card.get_attribute("data-card-id")
    assert card_id is not None
    return {"workspace": workspace, "project": project, "card": card_id}


def test_the_real_loop_of_a_lanes_two_agents_reads_as_two_transcripts(browser: Browser, fleet: Fleet) -> None:
    owner = _context(browser, fleet)
    with screenshots_on_failure("loop-transcript", [owner]):
        page = owner.new_page()
        ids = _new_project_with_card(page, "Saved cards")
        board_id = page.request.get(f"/api/projects/{ids['project']}").json()["board_id"]
        lanes = page.request.get(f"/api/boards/{board_id}").json()["lanes"]
        lane_five = next(lane["id"] for lane in lanes if lane["number"] == 5)
        moved = page.request.put(
            f"/api/cards/{ids['card']}/move", data={"lane_id": lane_five}, headers={"origin": fleet.url}
        )
        assert moved.ok, moved.text()

        expect(page.get_by_test_id("drawer-lane")).to_have_text("Lane 5 · Build")  # the drawer follows the move
        tabs = page.get_by_test_id("transcript-tab")
        expect(tabs).to_have_text(["Backend developer", "Frontend developer", "Raw log"], timeout=60_000)
        transcript = page.get_by_test_id("transcript")
        expect(transcript.get_by_text("Reading the card and the documents earlier lanes wrote for it.")).to_be_visible(
            timeout=60_000
        )
        expect(transcript.get_by_test_id("tool-call").locator("summary code")).to_contain_text(
            ["read_card", "list_documents", "write_document", "add_checklist_items", "comment"], timeout=60_000
        )
        tabs.nth(1).click()
        expect(transcript.get_by_test_id("tool-call").first.locator("summary code")).to_have_text(
            "read_card", timeout=60_000
        )
        # The raw log mixes both agents' lines, so each says whose it is (xterm keeps only the latest rows).
        tabs.last.click()
        labelled = re.compile(r"\[(Backend|Frontend) developer\] ")
        expect(page.get_by_test_id("terminal")).to_contain_text(labelled, timeout=60_000)
        # Both developers added their implementation steps to the card's checklist at once: each keeps the other's.
        checklist = page.get_by_label("Card details").get_by_label("Checklist", exact=True)
        expect(checklist).to_contain_text("0 of 6 done", timeout=30_000)
        steps = ["Write the migration", "Add the endpoints with validation", "Cover each endpoint with tests"]
        steps += ["Build the components", "Wire the API calls", "Test every state of the screen"]
        for step in steps:  # each developer's lines in its order, whichever developer's step core applied first
            expect(checklist.locator("li").filter(has_text=step)).to_have_count(1)
        # The Architect breaks the card down: its two children link back to this card, and it lists them.
        lane_three = next(lane["id"] for lane in lanes if lane["number"] == 3)
        moved = page.request.put(
            f"/api/cards/{ids['card']}/move", data={"lane_id": lane_three}, headers={"origin": fleet.url}
        )
        assert moved.ok, moved.text()
        children = page.get_by_role("link", name=re.compile(r"^Saved cards: (API and data model|screens and states)$"))
        expect(children).to_have_count(2, timeout=60_000)
        children.first.click()
        expect(page.get_by_test_id("parent-card")).to_contain_text("Child of Saved cards")


def _git(*args: str, cwd: Path) -> str:
    """The git CLI with no user configuration and no prompt, as the platform runs it."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    done = subprocess.run([GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_a_member_reviews_a_cards_diff_in_the_code_tab_and_merges_it(
    browser: Browser, fleet: Fleet, tmp_path: Path
) -> None:
    owner, member = _context(browser, fleet), _context(browser, fleet)
    with screenshots_on_failure("code-tab", [owner, member]):
        page = owner.new_page()
        ids = _new_project_with_card(page, "Slug helper")
        headers = {"origin": fleet.url}
        # The owner pushes a commit to the card's branch through the gateway's git route with an API key.
        key = page.request.post(f"/api/workspaces/{ids['workspace']}/api-keys", data={"name": "git"}, headers=headers)
        assert key.ok, key.text()
        code = page.request.get(f"/api/cards/{ids['card']}/code")
        assert code.ok, code.text()
        branch = code.json()["branch"]
        secret = key.json()["key"]
        remote = fleet.url.replace("http://", f"http://git:{secret}@") + f"/git/{ids['project']}.git"
        _git("clone", remote, "work", cwd=tmp_path)
        work = tmp_path / "work"
        _git("checkout", "-b", branch, cwd=work)
        (work / "slug.py").write_text('def slug(text: str) -> str:\n    return "-".join(text.lower().split())\n')
        _git("add", "slug.py", cwd=work)
        _git("-c", "user.name=Grace", "-c", "user.email=g@example.com", "commit", "-m", "Add the slug helper", cwd=work)
        _git("push", "origin", branch, cwd=work)

        # A member of the workspace opens the card: its Code tab shows the branch, the commit and the diff.
        invited = page.request.post(
            f"/api/workspaces/{ids['workspace']}/members",
            data={"email": f"mia-{uuid.uuid4().hex[:8]}@example.com", "role": "member"},
            headers=headers,
        )
        assert invited.ok, invited.text()
        seen = member.new_page()
        _sign_up(seen, "Mia", invited.json()["email"])
        expect(seen.get_by_label("Workspace name")).to_be_visible()  # signed in, in no workspace yet
        accepted = seen.request.post(
            "/api/invitations/accept", data={"token": invited.json()["invitation"]["token"]}, headers=headers
        )
        assert accepted.ok, accepted.text()
        seen.goto(f"/w/{ids['workspace']}/p/{ids['project']}/board?card={ids['card']}")
        tab = seen.get_by_test_id("card-code")
        expect(tab.get_by_test_id("code-branch")).to_contain_text(branch)
        expect(tab.get_by_test_id("code-commit")).to_contain_text("Add the slug helper")
        diff = tab.get_by_test_id("diff-file")
        expect(diff).to_have_count(1)
        expect(diff).to_contain_text("slug.py")
        expect(diff.locator(".token.keyword").first).to_have_text("def")  # highlighted as Python
        tab.get_by_role("button", name="Side by side").click()
        expect(diff.locator("table.diff-split")).to_be_visible()

        tab.get_by_role("button", name="Merge into main").click()
        expect(tab.get_by_test_id("merge-result")).to_contain_text("Merged into main as ")
        expect(tab.get_by_test_id("code-branch")).to_contain_text("merged")
        # The default branch now holds the change.
        merged = seen.request.get(f"/api/projects/{ids['project']}/repository/files?ref=main&path=slug.py")
        assert merged.ok, merged.text()
        assert '"-".join(text.lower().split())' in merged.json()["content"]
        # The project's repository page lists the card's branch, linked to the card, and main's files.
        seen.get_by_role("link", name="Repository").click()
        row = seen.get_by_test_id("repository-branch").filter(has_text=branch)
        expect(row.get_by_test_id("branch-card")).to_have_text("Slug helper")
        expect(seen.get_by_test_id("repository-entry").filter(has_text="slug.py")).to_be_visible()


# The board and the card drawer at laptop, tablet and phone sizes.

WIDTHS = {"laptop": (1440, 900), "tablet": (820, 1180), "phone": (390, 844)}


def _new_project(page: Page) -> dict[str, str]:
    """Sign up, create a workspace and a project; their ids and the board's lanes by number."""
    _sign_up(page, "Linus", f"linus-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Workspace name").fill("Studio")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_label("Project name").fill("Shop")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/p/[^/]+/board$"))
    workspace, project = re.findall(r"/(?:w|p)/([0-9a-f-]{36})", page.url)
    board_id = page.request.get(f"/api/projects/{project}").json()["board_id"]
    lanes = page.request.get(f"/api/boards/{board_id}").json()["lanes"]
    ids = {"workspace": workspace, "project": project, "board_url": page.url}
    ids.update({f"lane{lane['number']}": lane["id"] for lane in lanes})
    return ids


def _inside_viewport(page: Page, element: Locator) -> dict[str, float]:
    box = element.bounding_box()
    viewport = page.viewport_size
    assert box is not None
    assert viewport is not None
    assert box["width"] > 0, box
    assert box["height"] > 0, box
    assert box["x"] >= 0, box
    assert box["y"] >= 0, box
    assert box["x"] + box["width"] <= viewport["width"], (box, viewport)
    assert box["y"] + box["height"] <= viewport["height"], (box, viewport)
    return box


def _apart(one: dict[str, float], other: dict[str, float]) -> bool:
    return (
        one["x"] + one["width"] <= other["x"]
        or other["x"] + other["width"] <= one["x"]
        or one["y"] + one["height"] <= other["y"]
        or other["y"] + other["height"] <= one["y"]
    )


def test_the_drawer_keeps_its_header_and_actions_in_view_at_every_size(browser: Browser, fleet: Fleet) -> None:
    owner = _context(browser, fleet, width=1440)
    with screenshots_on_failure("drawer-sizes", [owner]):
        page = owner.new_page()
        ids = _new_project(page)
        headers = {"origin": fleet.url}
        gated = page.request.patch(f"/api/lanes/{ids['lane1']}", data={"requires_approval": True}, headers=headers)
        assert gated.ok, gated.text()
        title = "Gift cards that can be split across several orders and partially refunded"
        created = page.request.post(
            f"/api/projects/{ids['project']}/cards", data={"title": title, "lane_id": ids["lane0"]}, headers=headers
        )
        assert created.ok, created.text()
        card_id = created.json()["id"]
        card = page.locator(f'[data-card-id="{card_id}"]')
        expect(card).to_be_visible()

        # Enter opens the card and focus moves into the drawer; Escape closes it and focus is back on the card.
        card.focus()
        page.keyboard.press("Enter")
        drawer = page.get_by_label("Card details")
        expect(drawer.get_by_test_id("drawer-title")).to_be_focused()
        expect(card).not_to_have_attribute("aria-pressed", "true")  # opened, not lifted
        expect(drawer.get_by_test_id("drawer-lane")).to_have_text("Lane 0 · Vision & Strategy")
        page.keyboard.press("Escape")
        expect(drawer).to_have_count(0)
        expect(card).to_be_focused()

        # Moved into the gated lane while open, the drawer shows the new lane at once, then the held run.
        card.click()
        moved = page.request.put(f"/api/cards/{card_id}/move", data={"lane_id": ids["lane1"]}, headers=headers)
        assert moved.ok, moved.text()
        expect(drawer.get_by_test_id("drawer-lane")).to_have_text("Lane 1 · Product")
        expect(drawer.get_by_test_id("drawer-state")).to_have_text("PRD awaiting approval", timeout=90_000)
        card_url = page.url

        for size, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(card_url)
            header = drawer.locator(".drawer-head")
            expect(header.get_by_role("button", name="Approve")).to_be_visible()
            title_box = _inside_viewport(page, drawer.get_by_test_id("drawer-title"))
            close_box = _inside_viewport(page, drawer.get_by_role("button", name="Close card"))
            assert _apart(title_box, close_box), (size, title_box, close_box)
            _inside_viewport(page, drawer.get_by_test_id("drawer-lane"))
            _inside_viewport(page, drawer.get_by_test_id("drawer-state"))
            for action in ("Approve", "Reject", "Run agent"):
                _inside_viewport(page, header.get_by_role("button", name=action, exact=True))
            # Scrolled to its last section, the drawer keeps its header (and so its actions) in view.
            drawer.locator(".drawer-section").last.scroll_into_view_if_needed()
            _inside_viewport(page, header.get_by_role("button", name="Approve", exact=True))
            drawer_box = drawer.bounding_box()
            board_box = page.locator(".board").bounding_box()
            assert drawer_box is not None
            assert board_box is not None
            if size == "laptop":  # a panel over the board, which keeps its width and scrolls under it
                assert drawer_box["width"] <= 560, drawer_box
                assert board_box["width"] >= width - 64, board_box
            elif size == "tablet":  # a split: the board beside the drawer, both in view
                assert _apart(drawer_box, board_box), (drawer_box, board_box)
                assert drawer_box["y"] < height / 4, drawer_box
            else:  # a full-screen sheet
                assert (drawer_box["x"], drawer_box["y"]) == (0, 0), drawer_box
                assert (drawer_box["width"], drawer_box["height"]) == (width, height), drawer_box

        # On a phone the app's header is one compact row.
        drawer.get_by_role("button", name="Close card").click()
        topbar = page.locator(".topbar").bounding_box()
        assert topbar is not None
        assert topbar["height"] <= 844 * 0.08, topbar

        # Approving from the header lets the run through.
        page.goto(card_url)
        drawer.locator(".drawer-head").get_by_role("button", name="Approve", exact=True).click()
        expect(drawer.get_by_test_id("drawer-state")).to_have_text("PRD approved")
        expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)


AXE = ROOT / "services" / "gateway" / "web" / "node_modules" / "axe-core" / "axe.min.js"


def _axe_serious(page: Page, screen: str) -> None:
    """Runs axe-core on the page as it is: no critical or serious violation, and one h1."""
    page.evaluate(AXE.read_text())  # evaluated through the DevTools protocol, which the app's CSP does not govern
    result = page.evaluate("""() => axe.run(document, { resultTypes: ["violations"] })""")
    serious = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], (screen, serious)
    expect(page.locator("h1")).to_have_count(1)


def test_search_filters_shortcuts_lanes_and_themes_last_and_pass_axe(browser: Browser, fleet: Fleet) -> None:
    owner = _context(browser, fleet, width=1440)
    with screenshots_on_failure("board-ux", [owner]):
        page = owner.new_page()
        page.goto("/signup")
        _axe_serious(page, "sign-up")
        ids = _new_project(page)
        board_url = ids["board_url"]
        # Quick add in the first lane, and in any other lane from its "+ Add a card".
        page.get_by_label("New card title", exact=True).fill("Refunds")
        page.get_by_label("New card title", exact=True).press("Enter")
        page.get_by_label("New card title", exact=True).fill("Invoices in PDF")
        page.get_by_label("New card title", exact=True).press("Enter")
        page.get_by_role("button", name="Add a card to Design").click()
        page.get_by_label("New card title in Design").fill("Dark checkout page")
        page.get_by_label("New card title in Design").press("Enter")
        expect(_lane(page, 2).locator('[data-card="Dark checkout page"]')).to_be_visible()  # type: ignore[attr-defined]
        page.keyboard.press("Escape")  # closes that lane's quick add
        expect(page.get_by_label("New card title in Design")).to_have_count(0)
        expect(_lane(page, 0).locator("[data-card]")).to_have_count(2)  # type: ignore[attr-defined]
        _axe_serious(page, "board")

        # `/` goes to the search; the text and a priority filter are kept in the address, through a reload.
        page.keyboard.press("/")
        expect(page.get_by_label("Search cards")).to_be_focused()
        page.keyboard.type("refund")
        expect(page.locator("[data-card]")).to_have_count(1)
        expect(page).to_have_url(re.compile(r"q=refund"))
        page.get_by_label("Filter by agents").select_option("none")
        page.reload()
        expect(page.get_by_label("Search cards")).to_have_value("refund")
        expect(page.get_by_label("Filter by agents")).to_have_value("none")
        expect(page.locator("[data-card]")).to_have_count(1)
        expect(page.get_by_test_id("filter-count")).to_have_text("1 of 3 cards")
        page.get_by_label("Filter by priority").select_option("urgent")
        expect(page.locator("[data-card]")).to_have_count(0)
        page.get_by_role("button", name="Clear filters").click()
        expect(page.locator("[data-card]")).to_have_count(3)
        expect(page).to_have_url(board_url)

        # `?` lists the shortcuts, `c` puts the cursor in the quick add, Ctrl+K opens a card by its title.
        page.keyboard.press("?")
        shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
        expect(shortcuts).to_be_visible()
        page.keyboard.press("Escape")
        expect(shortcuts).to_have_count(0)
        page.keyboard.press("c")
        expect(page.get_by_label("New card title", exact=True)).to_be_focused()
        page.keyboard.press("Control+k")
        palette = page.get_by_role("dialog", name="Command palette")
        expect(palette).to_be_visible()
        page.keyboard.type("invoices")
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("drawer-title")).to_have_text("Invoices in PDF")
        expect(page.get_by_test_id("drawer-title")).to_be_focused()
        _axe_serious(page, "drawer")
        page.keyboard.press("Escape")
        expect(page.locator('[data-card="Invoices in PDF"]')).to_be_focused()

        # A collapsed lane stays collapsed on this board after a reload, and expands again.
        page.get_by_role("button", name="Collapse Architecture").click()
        page.reload()
        expand = page.get_by_role("button", name=re.compile(r"^Expand Architecture"))
        expect(expand).to_have_attribute("aria-expanded", "false")
        expand.click()
        expect(page.get_by_role("button", name="Collapse Architecture")).to_be_visible()

        # The main screens: one h1 each, and no critical or serious axe violation.
        project_url = board_url.removesuffix("/board")
        workspace_url = project_url.split("/p/")[0]
        for screen, url in {
            "documents": f"{project_url}/documents",
            "console": f"{project_url}/console",
            "providers": f"{project_url}/providers",
            "members": f"{workspace_url}/members",
            "usage": f"{workspace_url}/usage",
            "billing": f"{workspace_url}/billing",
        }.items():
            page.goto(url)
            expect(page.locator("h1")).to_be_visible()
            page.wait_for_load_state("networkidle")
            _axe_serious(page, screen)

    # Dark mode follows the system until a theme is picked, which this browser keeps.
    dark = browser.new_context(base_url=fleet.url, viewport={"width": 1440, "height": 900}, color_scheme="dark")
    dark.add_cookies(owner.cookies())
    with screenshots_on_failure("board-dark", [dark]):
        page = dark.new_page()
        page.goto(board_url)
        background = "() => getComputedStyle(document.body).backgroundColor"
        expect(page.locator("[data-card]")).to_have_count(3)
        assert page.evaluate(background) == "rgb(15, 20, 27)"
        toggle = page.get_by_test_id("theme-toggle")
        expect(toggle).to_have_attribute("aria-pressed", "true")
        _axe_serious(page, "board, dark")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "false")
        assert page.evaluate(background) == "rgb(244, 246, 249)"
        page.reload()
        expect(page.get_by_test_id("theme-toggle")).to_have_attribute("aria-pressed", "false")
        assert page.evaluate(background) == "rgb(244, 246, 249)"
    dark.close()
    owner.close()


def test_labels_set_on_a_card_survive_a_reload_and_an_archived_card_comes_back_with_undo(
    browser: Browser, fleet: Fleet
) -> None:
    owner = _context(browser, fleet)
    with screenshots_on_failure("card-fields", [owner]):
        page = owner.new_page()
        ids = _new_project_with_card(page, "Refunds")
        card = page.locator('[data-card="Refunds"]')
        expect(card.get_by_test_id("card-face-human-id")).to_have_text("PAYME-1")
        details = page.get_by_test_id("card-details")
        expect(details.get_by_test_id("card-human-id")).to_have_text("PAYME-1")

        # A new label is made and put on the card; the card shows it, and still does after a reload.
        details.get_by_label("New label name").fill("Urgent")
        details.get_by_role("button", name="Add label").click()
        expect(card.get_by_test_id("card-label")).to_have_text("Urgent")
        details.get_by_label("Due date").fill("2026-12-24")
        expect(card.get_by_test_id("card-due")).to_have_text("due 2026-12-24")
        page.reload()
        expect(card.get_by_test_id("card-label")).to_have_text("Urgent")
        expect(card.get_by_test_id("card-due")).to_have_text("due 2026-12-24")
        expect(details.get_by_role("checkbox", name="Urgent")).to_be_checked()
        labels = page.request.get(f"/api/projects/{ids['project']}/labels").json()
        assert [label["name"] for label in labels] == ["Urgent"]

        # Archived, the card leaves the board; Undo puts it back in its lane.
        details.get_by_role("button", name="Archive").click()
        expect(card).to_have_count(0)
        details.get_by_test_id("card-archived").get_by_role("button", name="Undo").click()
        expect(card).to_be_visible()
        expect(card.get_by_test_id("card-label")).to_have_text("Urgent")


# A card's address by its short id, the archived cards, and the resizable split between the board and the drawer.


def _separator_value(separator: Locator, name: str = "aria-valuenow") -> int:
    value = separator.get_attribute(name)
    assert value is not None, name
    return int(value)


def _drag_by(page: Page, element: Locator, dx: float) -> None:
    box = element.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=4)
    page.mouse.move(x + dx, y, steps=4)
    page.mouse.up()


def _width_of(element: Locator) -> float:
    box = element.bounding_box()
    assert box is not None
    return box["width"]


def test_a_card_opens_by_its_short_id_comes_back_from_the_archived_list_and_resizes_its_split(
    browser: Browser, fleet: Fleet
) -> None:
    owner = _context(browser, fleet, width=1440)
    owner.grant_permissions(["clipboard-read", "clipboard-write"], origin=fleet.url)
    with screenshots_on_failure("card-address", [owner]):
        page = owner.new_page()
        ids = _new_project(page)
        headers = {"origin": fleet.url}
        made = [
            page.request.post(
                f"/api/projects/{ids['project']}/cards", data={"title": title, "lane_id": ids["lane0"]}, headers=headers
            ).json()
            for title in ("Refunds", "Gift cards", "Loyalty points")
        ]
        refunds, gifts, points = made
        board_url = ids["board_url"]
        card_url = f"{fleet.url}/w/{ids['workspace']}/p/{ids['project']}/cards/{refunds['human_id']}"
        drawer = page.get_by_label("Card details")
        title = drawer.get_by_test_id("drawer-title")

        # Opened from the board, a card's address is its short id; back closes it, forward opens it again.
        page.locator('[data-card="Refunds"]').click()
        expect(page).to_have_url(card_url)
        expect(drawer.get_by_test_id("drawer-human-id")).to_have_text(refunds["human_id"])
        page.locator('[data-card="Gift cards"]').click()  # another card replaces it in the history
        expect(title).to_have_text("Gift cards")
        page.go_back()
        expect(page).to_have_url(board_url)
        expect(drawer).to_have_count(0)
        page.go_forward()
        expect(title).to_have_text("Gift cards")
        drawer.get_by_role("button", name="Close card").click()
        expect(page).to_have_url(board_url)
        expect(drawer).to_have_count(0)

        # The address opens the card after a reload; Copy link copies it.
        page.goto(card_url)
        page.reload()
        expect(title).to_have_text("Refunds")
        expect(page.locator('[data-card="Loyalty points"]')).to_be_visible()
        drawer.get_by_role("button", name="Copy link").click()
        expect(drawer.get_by_role("status").filter(has_text="Link copied")).to_be_visible()
        assert page.evaluate("() => navigator.clipboard.readText()") == card_url
        # A card's id, in the path or in an older link's ?card=, gives way to its short id; the filters stay.
        page.goto(f"/w/{ids['workspace']}/p/{ids['project']}/cards/{points['id']}")
        expect(page).to_have_url(re.compile(rf"/cards/{points['human_id']}$"))
        expect(title).to_have_text("Loyalty points")
        page.goto(f"{board_url}?q=gift&card={gifts['id']}")
        expect(page).to_have_url(re.compile(rf"/cards/{gifts['human_id']}\?q=gift$"))
        expect(title).to_have_text("Gift cards")
        expect(page.locator("[data-card]")).to_have_count(1)
        # A short id no card has says so, and leads back to the board.
        missing = f"{refunds['human_id'].split('-')[0]}-99"
        page.goto(f"/w/{ids['workspace']}/p/{ids['project']}/cards/{missing}")
        nothing = page.get_by_test_id("no-such-card")
        expect(nothing.get_by_role("heading", name="No such card")).to_be_visible()
        expect(nothing).to_contain_text(missing)
        _axe_serious(page, "no such card")
        nothing.get_by_role("button", name="Back to the board").click()
        expect(page).to_have_url(board_url)

        # Archived from its drawer, a card is listed under Archived, searched, opened and restored from there.
        page.locator('[data-card="Refunds"]').click()
        drawer.get_by_test_id("card-details").get_by_role("button", name="Archive").click()
        expect(page.locator('[data-card="Refunds"]')).to_have_count(0)
        expect(drawer.get_by_test_id("card-archived")).to_be_visible()  # the drawer stays, with its Undo
        drawer.get_by_role("button", name="Close card").click()
        archived_gift = page.request.post(f"/api/cards/{gifts['id']}/archive", headers=headers)
        assert archived_gift.ok, archived_gift.text()
        page.get_by_role("button", name="Archived", exact=True).click()
        panel = page.get_by_role("region", name="Archived cards")
        listed = panel.get_by_test_id("archived-card")
        expect(listed).to_have_count(2)
        expect(page.locator('[data-card="Gift cards"]')).to_have_count(0)
        panel.get_by_label("Search archived cards").fill("refund")
        expect(listed).to_have_count(1)
        expect(listed).to_contain_text(f"{refunds['human_id']} Refunds")
        _axe_serious(page, "archived cards")
        listed.get_by_role("button", name=re.compile("Refunds")).click()
        expect(title).to_have_text("Refunds")
        expect(drawer.get_by_test_id("card-archived")).to_be_visible()
        listed.get_by_role("button", name=f"Restore {refunds['human_id']}").click()
        expect(listed).to_have_count(0)
        expect(_lane(page, 0).locator('[data-card="Refunds"]')).to_be_visible()  # type: ignore[attr-defined]
        expect(drawer.get_by_test_id("card-archived")).to_have_count(0)
        # An owner deletes an archived card for good.
        panel.get_by_label("Search archived cards").fill("")
        page.once("dialog", lambda dialog: dialog.accept())
        listed.get_by_role("button", name=f"Delete {gifts['human_id']} for good").click()
        expect(panel).to_contain_text("No archived cards.")
        assert page.request.get(f"/api/cards/{gifts['id']}").status == 404
        page.get_by_role("button", name="Archived", exact=True).click()
        expect(panel).to_have_count(0)

        # At 1440 px the drawer's left edge is a separator: dragged, moved with the keys, kept after a reload.
        separator = page.get_by_role("separator", name="Resize the card panel")
        expect(separator).to_have_attribute("aria-valuenow", "520")
        expect(separator).to_have_attribute("aria-controls", "card-drawer")
        assert _width_of(drawer) == 520
        _drag_by(page, separator, -100)
        expect(separator).to_have_attribute("aria-valuenow", "620")
        assert _width_of(drawer) == 620
        separator.focus()
        page.keyboard.press("ArrowRight")
        expect(separator).to_have_attribute("aria-valuenow", "604")
        page.keyboard.press("Shift+ArrowLeft")
        expect(separator).to_have_attribute("aria-valuenow", "668")
        assert _width_of(drawer) == 668
        _axe_serious(page, "resizable drawer")
        page.keyboard.press("End")  # as wide as leaves the board its room
        widest = _separator_value(separator, "aria-valuemax")
        expect(separator).to_have_attribute("aria-valuenow", str(widest))
        assert _width_of(drawer) == widest
        _drag_by(page, separator, -200)  # clamped: it goes no further
        expect(separator).to_have_attribute("aria-valuenow", str(widest))
        page.keyboard.press("Home")  # as narrow as keeps the header whole
        narrowest = _separator_value(separator, "aria-valuemin")
        expect(separator).to_have_attribute("aria-valuenow", str(narrowest))
        header = drawer.locator(".drawer-head")
        for control in (
            title,
            header.get_by_role("button", name="Close card"),
            header.get_by_role("button", name="Copy link"),
        ):
            _inside_viewport(page, control)
        page.keyboard.press("Shift+ArrowLeft")
        chosen = _separator_value(separator)
        assert chosen == narrowest + 64
        page.reload()
        expect(title).to_have_text("Refunds")
        expect(separator).to_have_attribute("aria-valuenow", str(chosen))
        assert _width_of(drawer) == chosen

        # At 820 px the board and the drawer share the row; the separator between them resizes the split.
        page.set_viewport_size({"width": 820, "height": 1180})
        board = page.locator(".board")
        expect(separator).to_be_visible()
        page.wait_for_function(
            "() => Number(document.querySelector('[role=separator]').getAttribute('aria-valuemax')) <= 820 - 300"
        )
        start = _separator_value(separator)
        assert _width_of(drawer) == start
        _drag_by(page, separator, 60)
        expect(separator).to_have_attribute("aria-valuenow", str(start - 60))
        drawer_box, board_box, separator_box = drawer.bounding_box(), board.bounding_box(), separator.bounding_box()
        assert drawer_box is not None
        assert board_box is not None
        assert separator_box is not None
        assert drawer_box["width"] == start - 60, drawer_box
        assert _apart(drawer_box, board_box), (drawer_box, board_box)
        assert board_box["x"] + board_box["width"] <= separator_box["x"] + 1 <= drawer_box["x"], (
            board_box,
            separator_box,
        )
        separator.focus()
        page.keyboard.press("End")
        widest = _separator_value(separator, "aria-valuemax")
        assert widest <= 820 - 300, widest
        board_box = board.bounding_box()
        assert board_box is not None
        assert board_box["width"] >= 200, board_box  # the board keeps room for a lane
        page.keyboard.press("Home")
        expect(separator).to_have_attribute("aria-valuenow", str(_separator_value(separator, "aria-valuemin")))
        for control in (
            title,
            header.get_by_role("button", name="Close card"),
            header.get_by_role("button", name="Copy link"),
        ):
            _inside_viewport(page, control)
        _axe_serious(page, "resizable drawer, tablet")

        # A phone keeps the full-screen sheet, without a separator.
        page.set_viewport_size({"width": 390, "height": 844})
        expect(separator).to_be_hidden()
        drawer_box = drawer.bounding_box()
        assert drawer_box is not None
        assert (drawer_box["x"], drawer_box["y"], drawer_box["width"]) == (0, 0, 390), drawer_box
    owner.close()
