"""Issue 19 item 7 in a real browser (R14b, R13): in `s5sync demo`, an event tagged
[sync] made on the emulator's Outlook *page* (its form, not Graph) shows light green in
System Five's Today's Tasks with nobody pressing Sync now — the emulator's change
notification reaches the demo's web app over loopback and wakes the user's cycle.

The dashboard stays open in its own tab (R14's heartbeat: the user is active, so she is
subscribed); the Outlook page and Today's Tasks are another tab. The bound below is
generous (a hang, not a speed claim: the speed is in `s5sync bench` and
tests/integration/web/test_push_notifications.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from support.browser import CHROMIUM_ARGS
from support.demo_runner import Demo, free_base_port

ZONE = ZoneInfo("America/New_York")
ALICE = "alice@contoso.example"
WITHIN = 30.0  # seconds; generous on a loaded machine


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "demo-data", free_base_port())
    running.start()
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()


def subscriptions(demo: Demo) -> str:
    answer = httpx.get(demo.url(1, "/_emulator/stats"), timeout=10)
    answer.raise_for_status()
    return json.dumps(answer.json()["subscriptions"])


def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {within} s")


@pytest.mark.browser
def test_a_tag_on_the_outlook_page_is_light_green_in_todays_tasks_without_sync_now_R14b_R13(
    demo: Demo, chromium_path: str, artifacts_dir: Path
) -> None:
    today = datetime.now(ZONE).date()
    next_week = today + timedelta(days=7)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context()
        try:
            dashboard = context.new_page()
            dashboard.goto(demo.url())
            dashboard.get_by_role("link", name="Sign in with Microsoft").click()
            dashboard.get_by_label(re.compile(re.escape(ALICE))).check()
            dashboard.get_by_role("button", name="Accept").click()
            dashboard.get_by_role("button", name=re.compile("Yes, that is me")).click()
            expect(dashboard.get_by_text("Nothing synced yet")).to_be_visible()
            # Her open dashboard makes her active: she is subscribed (the emulator lists
            # a subscription), then the catch-up cycle it brings runs.
            until(lambda: "/graph/notifications" in subscriptions(demo), WITHIN, "a subscription")
            time.sleep(2)

            page: Page = context.new_page()
            page.goto(demo.url(1, "/outlook"))
            page.get_by_label(re.compile(re.escape(ALICE))).check()
            page.get_by_role("button", name="Sign in").click()
            page.goto(demo.url(1, f"/outlook/events/new?day={next_week}"))
            page.get_by_label("Subject", exact=True).fill("Measure kitchen [sync]")
            page.get_by_label("Start", exact=True).fill(f"{next_week}T15:00")
            page.get_by_label("End", exact=True).fill(f"{next_week}T16:00")
            page.get_by_role("button", name="Save").click()

            def green() -> bool:
                page.goto(demo.url(3, f"/tasks?date={today}"))
                rows = page.locator("tr.needs-review", has_text="Measure kitchen")
                return rows.count() == 1

            until(green, WITHIN, "the light-green task in Today's Tasks")
            page.screenshot(path=str(artifacts_dir / "demo-push-green.png"), full_page=True)
            expect(page.locator("tr", has_text="Measure kitchen")).to_have_count(1)  # R16

            # Nobody pressed Sync now: the cycle came from the notification.
            dashboard.goto(demo.url(0, "/dashboard"))
            expect(dashboard.locator("#activity")).to_contain_text(
                "Imported 'Measure kitchen [sync]' from Outlook"
            )
            expect(dashboard.locator("#sync-cadence")).to_contain_text("Live")
        finally:
            browser.close()
