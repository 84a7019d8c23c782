"""The card's conversation in headless Chromium on the `make dev` fleet: a comment naming an agent runs it on the
card with the comment as its instructions (its transcript repeats the request), and a comment naming a member
notifies them live, in their own browser, through the bell in the header.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from . import test_web_app as web
from .test_web_app import Fleet, _context, _fill_sign_up, _new_project_with_card, screenshots_on_failure

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]
fleet, browser = web.fleet, web.browser  # the same fixtures: this module's own fleet and Chromium


def _comment(page: Page, text: str) -> None:
    page.get_by_label("Comment", exact=True).fill(text)
    page.get_by_role("button", name="Comment", exact=True).click()


def test_a_comment_naming_an_agent_runs_it_with_the_comment_as_its_instructions(browser: Browser, fleet: Fleet) -> None:
    context = _context(browser, fleet)
    with screenshots_on_failure("conversation-agent", [context]):
        page = context.new_page()
        _new_project_with_card(page, "Gift cards")
        field = page.get_by_label("Comment", exact=True)
        field.press_sequentially("@pr")
        options = page.get_by_role("listbox", name="Mention").get_by_role("option")
        expect(options.first).to_contain_text("@prd")
        field.press("Enter")  # the suggestion completes the mention
        expect(field).to_have_value("@prd ")
        field.press_sequentially("cover **refunds** of gift cards")
        page.get_by_role("button", name="Comment", exact=True).click()
        expect(page.get_by_text("Asked PRD to run with your comment.")).to_be_visible()
        comment = page.get_by_test_id("comment")
        expect(comment).to_have_count(1)
        expect(comment.locator("strong")).to_have_text("refunds")  # Markdown
        expect(comment).to_contain_text("You")
        # The PRD agent runs on the card; its transcript shows it read what the person asked.
        expect(page.get_by_test_id("transcript-tab")).to_have_text(["PRD", "Raw log"], timeout=60_000)
        transcript = page.get_by_test_id("transcript")
        expect(transcript).to_contain_text("A teammate asked: “@prd cover refunds of gift cards”", timeout=60_000)
        expect(transcript).to_contain_text("wrote the PRD", timeout=60_000)
        # Its author edits the comment, then deletes it; it stays in the thread as deleted. The thread is oldest
        # first, and the PRD agent may have commented meanwhile.
        comment = page.get_by_test_id("comment").first
        comment.get_by_role("button", name="Edit").click()
        page.get_by_label("Edited comment").fill("Refunds first, please.")
        comment.get_by_role("button", name="Save").click()
        expect(comment).to_contain_text("Refunds first, please.")
        expect(comment).to_contain_text("edited")
        comment.get_by_role("button", name="Delete").click()
        comment.get_by_role("button", name="Delete it").click()
        expect(comment).to_contain_text("deleted")
        expect(comment).not_to_contain_text("Refunds first")


def test_a_mention_notifies_another_member_live_in_their_browser(browser: Browser, fleet: Fleet) -> None:
    owner_context, member_context = _context(browser, fleet), _context(browser, fleet)
    with screenshots_on_failure("conversation-mention", [owner_context, member_context]):
        page = owner_context.new_page()
        ids = _new_project_with_card(page, "Loyalty points")
        card_url = page.url
        handle = f"lin-{uuid.uuid4().hex[:8]}"
        workspace_url = f"{fleet.url}/w/{ids['workspace']}"
        page.goto(f"{workspace_url}/members")
        page.get_by_label("Email to invite").fill(f"{handle}@example.com")
        page.get_by_label("Role to invite as").select_option("member")
        page.get_by_role("button", name="Invite").click()
        invite_link = page.get_by_test_id("invite-link").inner_text()

        member = member_context.new_page()
        member.goto(invite_link)
        member.get_by_role("link", name="Create an account").click()
        _fill_sign_up(member, "Lin", f"{handle}@example.com")
        member.get_by_role("button", name="Accept invitation").click()
        member.wait_for_url(re.compile(re.escape(workspace_url) + "$"))
        member.goto(f"{workspace_url}/p/{ids['project']}/board")
        bell = member.get_by_test_id("inbox-bell")
        expect(bell).to_have_accessible_name("Notifications")
        expect(member.locator("section.lane")).to_have_count(9)

        page.goto(card_url)
        field = page.get_by_label("Comment", exact=True)
        field.press_sequentially(f"@{handle[:5]}")
        expect(page.get_by_role("listbox", name="Mention").get_by_role("option")).to_contain_text([f"@{handle}"])
        field.press("Tab")
        expect(field).to_have_value(f"@{handle} ")
        field.press_sequentially("can you check the points maths?")
        page.get_by_role("button", name="Comment", exact=True).click()
        expect(page.get_by_test_id("comment")).to_have_count(1)

        # The member's open board hears it at once: the bell counts it, without a reload.
        expect(member.get_by_test_id("unread-count")).to_have_text("1", timeout=30_000)
        expect(bell).to_have_accessible_name("Notifications, 1 unread")
        expect(page.get_by_test_id("unread-count")).to_have_count(0)  # the author is not notified
        bell.click()
        entry = member.get_by_test_id("notification")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text("mentioned you on Loyalty points")
        expect(entry).to_contain_text("can you check the points maths?")
        entry.get_by_role("button").click()
        expect(member).to_have_url(re.compile(r"/cards/PAYME-1$"))  # the notification's link, by the card's short id
        expect(member.get_by_test_id("comment")).to_contain_text("can you check the points maths?")
        expect(member.get_by_test_id("unread-count")).to_have_count(0)
