"""System Five's desk pages in Chromium: R13's green row, cleared by opening and saving the
task; refused input explained on the form; keyboard use; and axe-core (from npm) finding
no serious or critical accessibility violation. Screenshots go to the artifacts folder.

The app runs under uvicorn in a background thread on a free port, mounted at /systemfive
as in the demo. axe-core is installed with npm into a cache folder outside the repository
(`npm install --no-save --prefix …`) and injected into each page.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy import update

from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5emu.schema import task as task_table
from s5emu.web import create_app
from support.browser import CHROMIUM_ARGS, serious_violations

pytestmark = pytest.mark.browser

TODAY = date(2026, 11, 25)
LIGHT_GREEN = "rgb(212, 245, 212)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Scene:
    """Alice's store: a task flagged needs-review two days ahead and one plain task today."""

    def __init__(self, url: str) -> None:
        desk = Desk(engine_for(url))
        try:
            self.alice = desk.add_employee("E001", "Alice Martin", "alice@contoso.example")
            desk.add_customer("Zoë Brontë")
            ahead = datetime(2026, 11, 27, 14, 0)
            self.flagged = desk.create_task(
                TaskForm(
                    "outlook", self.alice, None, "Call supplier", "", ahead, ahead, None, False
                )
            )
            now = datetime(2026, 11, 25, 9, 0)
            self.plain = desk.create_task(
                TaskForm("internal", self.alice, None, "Stock count", "", now, now, None, False)
            )
            with desk.engine.begin() as conn:
                conn.execute(
                    update(task_table).where(task_table.c.id == self.flagged).values(needs_review=1)
                )
        finally:
            desk.engine.dispose()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Scene]]:
    url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    create_schema(url)
    scene = Scene(url)
    inner = create_app(url, "America/New_York", today=lambda: TODAY)
    outer = FastAPI()
    outer.mount("/systemfive", inner)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(outer, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/systemfive", scene
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        inner.state.engine.dispose()


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Browser]:
    chromium_args = CHROMIUM_ARGS
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=chromium_args)
        try:
            yield launched
        finally:
            launched.close()


def test_green_row_is_cleared_by_opening_and_saving_the_task_by_keyboard_R13(
    served: tuple[str, Scene], browser: Browser, axe_script: Path, artifacts_dir: Path
) -> None:
    base, scene = served
    page = browser.new_page()
    page.goto(f"{base}/tasks?employee={scene.alice}")

    green = page.locator(f'tr[data-task-id="{scene.flagged}"]')
    expect(green).to_have_class("needs-review")
    cell = green.locator("td").first
    assert cell.evaluate("td => getComputedStyle(td).backgroundColor") == LIGHT_GREEN
    expect(page.get_by_text("Light green: needs review.")).to_be_visible()
    expect(page.locator(f'tr[data-task-id="{scene.plain}"]')).not_to_have_class("needs-review")
    page.screenshot(path=str(artifacts_dir / "s5emu-todays-tasks-green.png"), full_page=True)
    assert serious_violations(page, axe_script) == []

    # Keyboard only: focus the task's link, open it, change nothing, save.
    page.get_by_role("link", name="Call supplier").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Appointment {scene.flagged}")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Call supplier")
    page.screenshot(path=str(artifacts_dir / "s5emu-editor.png"), full_page=True)
    assert serious_violations(page, axe_script) == []
    page.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text(f"Task {scene.flagged} saved.")
    saved_row = page.locator(f'tr[data-task-id="{scene.flagged}"]')
    expect(saved_row).to_be_visible()
    expect(saved_row).not_to_have_class("needs-review")
    page.screenshot(path=str(artifacts_dir / "s5emu-todays-tasks-cleared.png"), full_page=True)
    # No longer flagged: it is listed under its own date only, not under today.
    page.goto(f"{base}/tasks?employee={scene.alice}")
    expect(page.locator(f'tr[data-task-id="{scene.flagged}"]')).to_have_count(0)


def test_refused_input_is_explained_on_the_form_and_accessible(
    served: tuple[str, Scene], browser: Browser, axe_script: Path, artifacts_dir: Path
) -> None:
    base, scene = served
    page = browser.new_page()
    page.goto(f"{base}/tasks/new?employee={scene.alice}")
    page.get_by_label("Title").fill("")
    page.get_by_label("End").fill("2026-11-25T08:00")
    page.get_by_role("button", name="Save").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was saved")
    expect(alert).to_contain_text("Enter a title.")
    expect(alert).to_contain_text("The end is before the start.")
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(artifacts_dir / "s5emu-editor-refused.png"), full_page=True)
    assert serious_violations(page, axe_script) == []
    page.goto(f"{base}/tasks?employee={scene.alice}")
    expect(page.locator("tbody tr")).to_have_count(2)


def test_the_accessibility_check_catches_an_unlabelled_field(
    browser: Browser, axe_script: Path
) -> None:
    page = browser.new_page()
    page.set_content('<html lang="en"><title>t</title><main><input type="text"></main></html>')
    assert [v["id"] for v in serious_violations(page, axe_script)] == ["label"]
