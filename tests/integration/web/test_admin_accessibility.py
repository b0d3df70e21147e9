"""The administrator's pages in Chromium (issue 11): no serious or critical axe-core
violation on the health view, the options form, the time-zone confirmation and the staff
page; each is saved as a screenshot. The browser's requests are served by the in-process
app through Playwright's routing, carrying Alice's (an administrator's) session."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from playwright.async_api import Page, Route, async_playwright

from support.browser import CHROMIUM_ARGS
from support.web_pages import ALICE
from support.web_world import BASE, WebWorld

FORWARDED = {"content-type", "hx-request", "hx-target", "x-csrf-token"}


async def serious_violations(page: Page, axe: str) -> list[dict[str, Any]]:
    await page.evaluate(axe)
    result: dict[str, Any] = await page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


BOB_EMAIL = "bob@contoso.example"


@pytest.mark.timeout(180)
async def test_admin_pages_have_no_serious_accessibility_violations(
    people: WebWorld, chromium_path: str, axe_script: Path, artifacts_dir: Path
) -> None:
    session = people.people[ALICE].browser
    axe = await anyio.Path(axe_script).read_text()

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

    found: dict[str, list[dict[str, Any]]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(bypass_csp=True)  # to evaluate axe-core
            await context.route(f"{BASE}/**", forward)
            page = await context.new_page()
            for path in ("/admin", "/admin/options", "/admin/users"):
                await page.goto(BASE + path)
                found[path] = await serious_violations(page, axe)
                name = path.strip("/").replace("/", "-")
                await page.screenshot(path=artifacts_dir / f"{name}.png", full_page=True)
            await page.goto(BASE + "/admin/options")
            await page.get_by_label("Time zone of System Five's times").fill("Europe/Paris")
            await page.get_by_role("button", name="Save options").click()
            await page.get_by_role("heading", name="Change the time zone?").wait_for()
            found["confirm"] = await serious_violations(page, axe)
            await page.screenshot(path=artifacts_dir / "admin-confirm-zone.png", full_page=True)
            await page.get_by_role("button", name="Yes, change the time zone and save").click()
            await page.get_by_text("Saved. The new options apply").wait_for()
            # The audit trail now holds that change (issue 21): desktop and 390 px.
            for width in (1280, 390):
                await page.set_viewport_size({"width": width, "height": 844})
                for path in ("/admin/audit", "/admin", "/admin/users"):
                    await page.goto(BASE + path)
                    found[f"{path}@{width}"] = await serious_violations(page, axe)
                    name = path.strip("/").replace("/", "-")
                    await page.screenshot(
                        path=artifacts_dir / f"{name}-{width}.png", full_page=True
                    )
                # Issue 21: the test per user and the confirmation before unmapping.
                await page.goto(BASE + "/admin")
                await page.get_by_role(
                    "button", name="Test the sync of bob@contoso.example"
                ).click()
                await page.get_by_role("heading", name=re.compile("Test of")).wait_for()
                found[f"test@{width}"] = await serious_violations(page, axe)
                await page.goto(BASE + "/admin/users")
                await page.get_by_role("button", name=f"Unmap {BOB_EMAIL}").click()
                await page.get_by_role("button", name="Yes, unmap").wait_for()
                found[f"confirm-unmap@{width}"] = await serious_violations(page, axe)
                await page.screenshot(path=artifacts_dir / f"admin-confirm-{width}.png")
            await page.goto(BASE + "/admin")
            await page.get_by_role("link", name="Audit").click()
            await page.get_by_text("changed the store's options").wait_for()
        finally:
            await browser.close()
    assert found == {path: [] for path in found}
    tenant = await people.services.directory.tenant(people.stores["contoso"].tenant.id)
    assert tenant.options.time_zone == "Europe/Paris"
