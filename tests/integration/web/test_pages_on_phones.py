"""Every staff page in Chromium at a phone's 390 px and at 1280 px (issue 20 items 3, 5;
R18, R21): no sideways scroll (the document's `scrollWidth` measured), no serious or
critical axe-core violation, and a screenshot of each at both widths in
tests/e2e/artifacts/. The status pill's non-green colours are checked in the browser:
amber for "will retry", red for "needs you", each with its words at a contrast of at
least 4.5:1 (WCAG AA).

Pages: sign-in, signed out, a message page (staff refused an admin page), onboarding
(a user not matched yet), the dashboard in its green, amber and red states, and the
administrator's health, options, staff and audit pages. The browser's requests are
served by the in-process app through Playwright's routing, each context carrying one
person's session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from m365emu.faults import Fault, FaultKind
from s5sync.store.subscriptions import SubscriptionRows
from support.browser import CHROMIUM_ARGS
from support.web_pages import ALICE, BOB
from support.web_world import BASE, WebWorld

CAROL = "carol@contoso.example"
FORWARDED = {"content-type", "hx-request", "hx-target", "x-csrf-token"}


async def serious_violations(page: Page, axe: str) -> list[dict[str, Any]]:
    await page.evaluate(axe)
    result: dict[str, Any] = await page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


WIDTHS = (390, 1280)

# The contrast of the pill's words on its background, as WCAG 2 defines it.
CONTRAST = """() => {
  const pill = document.querySelector('#status .pill');
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(pill);
  const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
  return {
    background: style.backgroundColor,
    color: style.color,
    border: getComputedStyle(document.querySelector('#status')).borderTopColor,
    ratio: (a + 0.05) / (b + 0.05),
  };
}"""

# The widest element, to name what scrolls sideways when something does.
WIDEST = """(limit) => {
  const wide = [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > limit + 0.5)
    .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
         (e.className && typeof e.className === 'string' ? '.' + e.className : '') +
         ' ' + Math.round(e.getBoundingClientRect().right));
  return wide.slice(-5);
}"""


async def context_for(browser: Browser, session: httpx.AsyncClient) -> BrowserContext:
    """A browser context whose requests go to the app with `session`'s cookies."""

    async def forward(route: Route) -> None:
        request = route.request
        answer = await session.request(
            request.method,
            request.url,
            headers={k: v for k, v in request.headers.items() if k.lower() in FORWARDED},
            content=request.post_data_buffer,
        )
        await route.fulfill(
            status=answer.status_code, headers=dict(answer.headers), body=answer.content
        )

    context = await browser.new_context(bypass_csp=True)  # to evaluate axe-core
    await context.route(f"{BASE}/**", forward)
    return context


Check = Callable[[Page, str, str], Awaitable[None]]


def checker(axe: str, artifacts: Path, found: dict[str, Any]) -> Check:
    async def check(page: Page, path: str, name: str) -> None:
        for width in WIDTHS:
            await page.set_viewport_size({"width": width, "height": 844})
            await page.goto(BASE + path)
            scroll = await page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                found[f"{name}@{width} scrolls"] = [scroll, await page.evaluate(WIDEST, width)]
            violations = await serious_violations(page, axe)
            if violations:
                found[f"{name}@{width} axe"] = violations
            await page.screenshot(path=artifacts / f"{name}-{width}.png", full_page=True)

    return check


@pytest.mark.timeout(300)
async def test_every_page_fits_a_phone_and_is_axe_clean_at_both_widths_issue20(
    people: WebWorld, chromium_path: str, axe_script: Path, artifacts_dir: Path
) -> None:
    people.stores["contoso"].desk.add_employee("C003", "Carol Diaz", CAROL)
    carol = await people.sign_in(CAROL)  # signed in, not matched yet: onboarding
    await people.cycle(BOB)
    await people.cycle(ALICE)
    axe = await anyio.Path(axe_script).read_text()
    found: dict[str, Any] = {}
    check = checker(axe, artifacts_dir, found)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            nobody = await (await context_for(browser, people.browser())).new_page()
            await check(nobody, "/", "signin")
            await check(nobody, "/?signed_out=1", "signed-out")
            onboarding = await (await context_for(browser, carol.browser)).new_page()
            await check(onboarding, "/onboarding", "onboarding")
            staff = await (await context_for(browser, people.people[BOB].browser)).new_page()
            await check(staff, "/admin", "message-not-allowed")
            await check(staff, "/dashboard", "dashboard")
            admin = await (await context_for(browser, people.people[ALICE].browser)).new_page()
            for path in ("/admin", "/admin/options", "/admin/users", "/admin/audit"):
                await check(admin, path, path.strip("/").replace("/", "-"))
            # The warning before a new time zone is saved (R21b), on a phone.
            await admin.set_viewport_size({"width": 390, "height": 844})
            await admin.goto(BASE + "/admin/options")
            await admin.get_by_label("Time zone of System Five's times").fill("Europe/Paris")
            await admin.get_by_role("button", name="Save options").click()
            await admin.get_by_role("heading", name="Change the time zone?").wait_for()
            scroll = await admin.evaluate("document.documentElement.scrollWidth")
            if scroll > 390:
                found["confirm-zone@390 scrolls"] = [scroll, await admin.evaluate(WIDEST, 390)]
            if violations := await serious_violations(admin, axe):
                found["confirm-zone@390 axe"] = violations
            await admin.screenshot(path=artifacts_dir / "admin-confirm-zone-390.png")
        finally:
            await browser.close()
    assert found == {}
    for name in ("signin", "onboarding", "dashboard", "admin-options"):
        for width in WIDTHS:
            assert (artifacts_dir / f"{name}-{width}.png").stat().st_size > 0


@pytest.mark.timeout(240)
async def test_the_pill_is_amber_when_it_will_retry_and_red_when_it_needs_you_issue20(
    people: WebWorld, chromium_path: str, axe_script: Path, artifacts_dir: Path
) -> None:
    axe = await anyio.Path(axe_script).read_text()
    found: dict[str, Any] = {}
    check = checker(axe, artifacts_dir, found)
    seen: dict[str, dict[str, Any]] = {}
    words: dict[str, str] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            page = await (await context_for(browser, people.people[BOB].browser)).new_page()
            await people.cycle(BOB)
            people.running.emulator.faults.add(
                Fault("GET", "*calendarView/delta*", FaultKind.ERROR, status=503, count=10)
            )
            try:
                await people.cycle(BOB)
            finally:
                people.running.emulator.faults.clear()
            await check(page, "/dashboard", "dashboard-amber")
            seen["amber"] = await page.evaluate(CONTRAST)
            words["amber"] = await page.locator("#status").inner_text()
            bob = await people.user(BOB)
            subscriptions = SubscriptionRows(people.services.db, people.services.box)
            await subscriptions.needs_sign_in(bob.tenant_id, bob.id, "")
            await check(page, "/dashboard", "dashboard-red")
            seen["red"] = await page.evaluate(CONTRAST)
            words["red"] = await page.locator("#status").inner_text()
        finally:
            await browser.close()
    assert found == {}
    assert seen["amber"]["background"] == "rgb(255, 244, 214)", seen
    assert seen["amber"]["border"] == "rgb(217, 164, 0)", seen
    assert seen["red"]["background"] == "rgb(253, 232, 231)", seen
    assert seen["red"]["border"] == "rgb(180, 35, 24)", seen
    assert all(s["ratio"] >= 4.5 for s in seen.values()), seen
    assert "Will retry" in words["amber"]
    assert "503 Service Unavailable" in words["amber"]
    assert "Repair my sync" in words["amber"]  # issue 21 item 2: offered after an error
    assert "Sign in again" in words["red"]
