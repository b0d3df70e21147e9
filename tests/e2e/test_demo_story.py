"""The whole story in a real browser (issue 10), against `s5sync demo` started as a
subprocess on free ports with a fresh data dir:

sign in as a demo user, onboard, tick Sync on a delivery for tomorrow in the appointment
editor, Sync now, see the event in the emulated Outlook calendar with the category and
the Google Maps link to the Ship To address; create "Measure kitchen [sync]" next week
in Outlook, Sync now, see it light green in Today's Tasks under today's date, open and
save it, see it no longer green; the dashboard's activity log says each step in words.
Then the demo restarted on the same data dir: signed in again, nothing duplicated.
A screenshot is kept for each step (tests/e2e/artifacts/demo-*.png).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from support.browser import CHROMIUM_ARGS, serious_violations
from support.demo_runner import Demo, free_base_port

ZONE = ZoneInfo("America/New_York")
ALICE = "alice@contoso.example"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "demo-data", free_base_port())
    running.start()
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"demo-{name}.png"), full_page=True)


def sign_in(page: Page, demo: Demo, email: str) -> None:
    page.goto(demo.url())
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.get_by_label(re.compile(re.escape(email))).check()
    page.get_by_role("button", name="Accept").click()


def sync_now_and_wait(page: Page, demo: Demo, text: str) -> None:
    page.goto(demo.url(0, "/dashboard"))
    page.get_by_role("button", name="Sync now").click()
    for _ in range(60):
        page.goto(demo.url(0, "/dashboard"))
        if text in page.locator("#activity").inner_text():
            return
        time.sleep(0.5)
    raise AssertionError(
        f"the activity log never said {text!r}: {page.locator('#activity').inner_text()}"
    )


@pytest.mark.browser
def test_the_whole_story_in_chromium_R1_R3_R4_R8_R9_R13_R18(
    demo: Demo, chromium_path: str, artifacts_dir: Path, axe_script: Path
) -> None:
    tomorrow = datetime.now(ZONE).date() + timedelta(days=1)
    today = datetime.now(ZONE).date()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page()
        try:
            # 1. Sign in and onboard (R19, R20).
            sign_in(page, demo, ALICE)
            expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
            shot(page, artifacts_dir, "1-onboarding")
            assert serious_violations(page, axe_script) == []
            page.get_by_role("button", name=re.compile("Yes, that is me")).click()
            expect(page.get_by_text("Nothing synced yet")).to_be_visible()
            shot(page, artifacts_dir, "2-dashboard-empty")

            # 2. A delivery for tomorrow, Sync ticked, in the appointment editor (R1).
            page.goto(demo.url(3, "/tasks/new"))
            page.get_by_label("Kind").select_option("delivery")
            employee = page.get_by_label("Employee")
            alice = employee.locator("option", has_text="Alice").first.get_attribute("value")
            employee.select_option(value=alice)
            page.get_by_label("Customer").select_option(index=1)
            page.get_by_label("Title", exact=True).fill("Deliver the oak dresser")
            page.get_by_label("Start", exact=True).fill(f"{tomorrow}T10:00")
            page.get_by_label("End", exact=True).fill(f"{tomorrow}T11:00")
            page.get_by_label("Sync", exact=True).check()
            shot(page, artifacts_dir, "3-appointment-editor")
            page.get_by_role("button", name="Save").click()

            # 3. Sync now: the event is in Outlook with the category and maps link (R3, R4).
            sync_now_and_wait(page, demo, "Sent 'Deliver the oak dresser' to Outlook")
            shot(page, artifacts_dir, "4-dashboard-pushed")
            page.goto(demo.url(1, "/outlook"))
            page.get_by_label(re.compile(re.escape(ALICE))).check()
            page.get_by_role("button", name="Sign in").click()
            page.goto(demo.url(1, f"/outlook?view=agenda&day={tomorrow}"))
            event = page.get_by_role("article", name=re.compile("Deliver the oak dresser"))
            expect(event).to_be_visible()
            expect(event).to_contain_text("Received From System5")
            expect(event.locator("a[href*='google.com/maps/search/?api=1']")).to_have_count(1)
            shot(page, artifacts_dir, "5-outlook-pushed")

            # 4. "Measure kitchen [sync]" next week in Outlook, then Sync now (R8, R9).
            next_week = today + timedelta(days=7)
            page.goto(demo.url(1, f"/outlook/events/new?day={next_week}"))
            page.get_by_label("Subject", exact=True).fill("Measure kitchen [sync]")
            page.get_by_label("Start", exact=True).fill(f"{next_week}T15:00")
            page.get_by_label("End", exact=True).fill(f"{next_week}T16:00")
            page.get_by_role("button", name="Save").click()
            shot(page, artifacts_dir, "6-outlook-tagged")
            sync_now_and_wait(page, demo, "Imported 'Measure kitchen [sync]'")

            # 5. Light green under today's date in Today's Tasks (R13), until saved.
            page.goto(demo.url(3, f"/tasks?date={today}"))
            row = page.locator("tr.needs-review", has_text="Measure kitchen")
            expect(row).to_have_count(1)
            shot(page, artifacts_dir, "7-todays-tasks-green")
            row.get_by_role("link", name="Measure kitchen").click()
            page.get_by_role("button", name="Save").click()
            page.goto(demo.url(3, f"/tasks?date={today}"))
            expect(page.locator("tr.needs-review", has_text="Measure kitchen")).to_have_count(0)
            shot(page, artifacts_dir, "8-todays-tasks-reviewed")

            # 6. The dashboard says each step in words (R18).
            page.goto(demo.url(0, "/dashboard"))
            log = page.locator("#activity").inner_text()
            assert "Sent 'Deliver the oak dresser' to Outlook as a new event" in log
            assert "Imported 'Measure kitchen [sync]' from Outlook" in log
            shot(page, artifacts_dir, "9-dashboard-activity")
            assert serious_violations(page, axe_script) == []
            # Usable by keyboard: Tab reaches Sync now, Enter presses it.
            for _ in range(10):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.textContent.trim()") == "Sync now":
                    break
            else:
                raise AssertionError("Sync now is not reachable with the keyboard")
            page.keyboard.press("Enter")
            # Issue 20: "Syncing…" while it runs, focus kept on the button, then the page
            # updates in place (no reload) when that sync has finished.
            expect(page.locator("#sync-now")).to_have_text("Syncing…")
            assert page.evaluate("document.activeElement.id") == "sync-now"
            expect(page.locator("#sync-now")).to_have_text("Sync now", timeout=30_000)
            assert page.evaluate("document.activeElement.id") == "sync-now"
            expect(page.locator("#status .pill")).to_have_text("Sync is on")
            assert "pill-green" in (page.locator("#status").get_attribute("class") or "")
            expect(page.locator("#status time.ago")).to_contain_text("s ago")

            # Issue 20 item 5: usable on a phone, no sideways scroll, axe-clean at 390 px
            # (every page, both widths, in-process: tests/integration/web/test_pages_on_phones.py).
            for path in ("/dashboard", "/admin", "/admin/users", "/admin/options"):
                page.set_viewport_size({"width": 390, "height": 844})
                page.goto(demo.url(0, path))
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (path, width)
                assert serious_violations(page, axe_script) == [], path
                name = path.strip("/").replace("/", "-")
                shot(page, artifacts_dir, f"390-{name}")
                page.set_viewport_size({"width": 1280, "height": 900})
                page.goto(demo.url(0, path))
                shot(page, artifacts_dir, f"1280-{name}")

            # 7. Alice is the demo store's administrator (R21c): the health view lists her.
            page.goto(demo.url(0, "/admin"))
            assert page.locator("main").inner_text().count(ALICE) >= 1
            shot(page, artifacts_dir, "9b-admin-health")
        finally:
            browser.close()

    # 7. Restart on the same data dir: sign in again, nothing duplicated (R16).
    demo.stop()
    demo.start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page()
        try:
            sign_in(page, demo, ALICE)
            expect(page.get_by_role("button", name="Sync now")).to_be_visible()
            page.get_by_role("button", name="Sync now").click()
            time.sleep(3)
            page.goto(demo.url(1, "/outlook"))
            page.get_by_label(re.compile(re.escape(ALICE))).check()
            page.get_by_role("button", name="Sign in").click()
            page.goto(demo.url(1, f"/outlook?view=agenda&day={tomorrow}"))
            expect(
                page.get_by_role("article", name=re.compile("Deliver the oak dresser"))
            ).to_have_count(1)
            # Reviewed, it is listed under its own date only (R13) — once (R16).
            next_week = today + timedelta(days=7)
            page.goto(demo.url(3, f"/tasks?date={next_week}"))
            expect(page.locator("tr", has_text="Measure kitchen")).to_have_count(1)
            shot(page, artifacts_dir, "10-after-restart")
        finally:
            browser.close()
