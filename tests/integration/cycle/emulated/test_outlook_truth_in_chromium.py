"""What the employee sees in Outlook, in Chromium (issue 20 'must show' for items 7, 8;
R4b, R6, R6b): a delivery sent with its customer's address has that address in the
event's Location, and once the task is deleted in System Five the event is still there,
at the same time, carrying "Removed from System Five" beside s5sync's category — read on
the emulated Outlook page as a user reads Outlook. A screenshot of it goes to
tests/e2e/artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from s5emu.desk import AddressForm
from support.browser import CHROMIUM_ARGS
from support.cycle_stack import Stack
from support.emulated_world import ALICE, LATER, NOW

REMOVED = "Removed from System Five"


@pytest.mark.timeout(180)
async def test_the_address_is_the_location_and_a_deleted_task_looks_removed_R4b_R6b(
    world: Stack, chromium_path: str, artifacts_dir: Path
) -> None:
    customer = world.desk.add_customer(
        "Zoë Brontë", [AddressForm("ship_to", "12 Rue Ærø", city="Montréal")]
    )
    sofa = world.add_task(
        ALICE, "delivery", "Deliver sofa", "2026-11-26T10:00:00", "2026-11-26T11:00:00",
        customer_id=customer,
    )  # fmt: skip
    world.add_task(ALICE, "customer", "Measure", "2026-11-26T14:00:00", "2026-11-26T15:00:00")
    assert (await world.cycle(ALICE, NOW)).outcome == "ok"
    assert world.desk.delete_task(sofa)
    marked = await world.cycle(ALICE, NOW + LATER)
    assert [e.action for e in marked.entries] == ["mark_task_deleted"]

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            root = world.running.urls.browser_root
            await page.goto(f"{root}/outlook")
            await page.get_by_label(re.compile(re.escape(ALICE))).check()
            await page.get_by_role("button", name="Sign in").click()
            await page.goto(f"{root}/outlook?view=agenda&day=2026-11-26")
            removed = page.get_by_role("article", name=re.compile("Deliver sofa"))
            await expect(removed).to_have_count(1)  # kept, never deleted (R6)
            # Never moved (R6b): 10:00 in New York, shown in the mailbox's zone (UTC here).
            await expect(removed).to_contain_text("15:00–16:00")
            await expect(removed).to_contain_text(REMOVED)
            await expect(removed).to_contain_text("Received From System5")
            await expect(removed).to_contain_text("12 Rue Ærø, Montréal")  # R4b
            live = page.get_by_role("article", name=re.compile("Measure"))
            await expect(live).to_have_count(1)
            await expect(live).not_to_contain_text(REMOVED)
            await page.screenshot(path=artifacts_dir / "outlook-removed-and-location.png")
        finally:
            await browser.close()
