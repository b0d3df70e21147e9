"""The Outlook page in Chromium (issue 4 item 5): a user signs in, creates an event, edits
it (adds "[sync]" to its subject, as a demo user does), sees it in week and agenda views
with its body's link clickable, and deletes it — by keyboard where a user would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from support.outlook_harness import ALICE, TENANT, OutlookServer, chromium_args

pytestmark = pytest.mark.browser


def test_create_edit_sync_tag_and_delete_an_event_in_chromium(
    outlook_server: OutlookServer, chromium_path: str, artifacts_dir: Path
) -> None:
    outlook_server.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=chromium_args())
        page = browser.new_page()
        page.goto(outlook_server.url + "/")
        expect(page.get_by_role("heading", name="Choose your account")).to_be_visible()
        page.get_by_label("Alice Adams").check()
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Week of Monday 30 November 2026")).to_be_visible()

        page.get_by_role("link", name="New event").click()
        page.get_by_label("Subject").fill("Fitting with Mrs Smith")
        page.get_by_label("Start").fill("2026-12-03T10:00")
        page.get_by_label("End").fill("2026-12-03T11:00")
        page.get_by_label("Notes").fill("Directions: https://maps.example.test/shop")
        page.get_by_label("Reminder").select_option("30")
        page.get_by_label("Location").fill("12 Rue Ærø, Montréal")
        page.get_by_label("Subject").press("Enter")  # submit by keyboard

        card = page.get_by_role("article", name="Fitting with Mrs Smith, 10:00–11:00")
        expect(card).to_be_visible()
        expect(card.get_by_text("12 Rue Ærø, Montréal")).to_be_visible()
        expect(card.get_by_role("link", name="https://maps.example.test/shop")).to_have_attribute(
            "href", "https://maps.example.test/shop"
        )

        card.get_by_role("link", name="Fitting with Mrs Smith").click()
        subject = page.get_by_label("Subject")
        subject.fill("Fitting with Mrs Smith [sync]")
        page.get_by_role("button", name="Save").click()
        expect(
            page.get_by_role("article", name="Fitting with Mrs Smith [sync], 10:00–11:00")
        ).to_be_visible()

        page.screenshot(path=str(artifacts_dir / "outlook_page_week.png"), full_page=True)
        box = outlook_server.state.find(f"{TENANT}/{ALICE}")
        assert box is not None
        [stored] = box.events.listed()
        assert stored.subject == "Fitting with Mrs Smith [sync]"
        assert stored.start == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
        assert stored.reminder_minutes == 30

        page.get_by_role("link", name="Agenda").click()
        expect(page.get_by_role("link", name="Fitting with Mrs Smith [sync]")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "outlook_page_agenda.png"), full_page=True)

        page.get_by_role("link", name="Fitting with Mrs Smith [sync]").click()
        page.get_by_role("button", name="Delete this event").focus()
        page.keyboard.press("Enter")
        # Outlook asks before it deletes (issue 20 item 11): "No" keeps it.
        expect(page.get_by_role("heading", name="Delete this event?")).to_be_visible()
        page.get_by_role("link", name="No, keep it").click()
        expect(page.get_by_label("Subject")).to_have_value("Fitting with Mrs Smith [sync]")
        assert len(box.events.listed()) == 1
        page.get_by_role("button", name="Delete this event").click()
        page.get_by_role("button", name="Yes, delete it").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Week of Monday 30 November 2026")).to_be_visible()
        expect(page.get_by_text("Fitting with Mrs Smith")).to_have_count(0)
        assert box.events.listed() == []
        browser.close()


def test_weekly_series_with_a_category_shows_coloured_occurrences_in_agenda(
    outlook_server: OutlookServer, chromium_path: str, artifacts_dir: Path
) -> None:
    outlook_server.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=chromium_args())
        page = browser.new_page()
        page.goto(outlook_server.url + "/signin")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="New event").click()
        page.get_by_label("Subject").fill("Stock count")
        page.get_by_label("Start").fill("2026-12-02T16:00")
        page.get_by_label("End").fill("2026-12-02T17:00")
        page.get_by_label("Other categories (comma-separated)").fill("Sync")
        page.get_by_label("Repeats").select_option("weekly")
        page.get_by_label("Or number of times (optional)").fill("2")
        page.get_by_role("button", name="Save").click()

        page.get_by_role("link", name="Agenda").click()
        cards = page.get_by_role("article", name="Stock count, 16:00–17:00")
        expect(cards).to_have_count(2)
        chip = cards.first.get_by_text("Sync")
        expect(chip).to_have_css("background-color", "rgb(231, 81, 90)")  # preset0, red
        page.screenshot(path=str(artifacts_dir / "outlook_page_series.png"), full_page=True)
        browser.close()
    box = outlook_server.state.find(f"{TENANT}/{ALICE}")
    assert box is not None
    [master] = box.events.listed()
    assert master.kind == "seriesMaster"
    assert [c.display_name for c in box.categories.listed()] == ["Sync"]


def test_page_shows_times_in_the_mailbox_time_zone_issue20(
    outlook_server: OutlookServer, chromium_path: str
) -> None:
    """mailboxSettings.timeZone decides the page's times, as in Outlook (issue 20 item 11)."""
    outlook_server.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    box = outlook_server.state.mailbox(TENANT, ALICE)
    box.time_zone = "Eastern Standard Time"  # Windows names too, as Graph answers them
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=chromium_args())
        page = browser.new_page()
        page.goto(outlook_server.url + "/signin")
        page.get_by_label("Alice Adams").check()
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="New event").click()
        expect(page.get_by_text("Times are in Eastern Standard Time")).to_be_visible()
        page.get_by_label("Subject").fill("Delivery")
        page.get_by_label("Start").fill("2026-12-03T10:00")
        page.get_by_label("End").fill("2026-12-03T11:00")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("article", name="Delivery, 10:00–11:00")).to_be_visible()
        [stored] = box.events.listed()
        assert stored.start == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York
        browser.close()
