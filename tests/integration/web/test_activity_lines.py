"""The activity log tells two tasks of one title apart (issue 20 item 4, R18): each line
says when its task or event takes place, in the store's time zone with no zone name, and
links to where the store opens the task (`S5SYNC_TASK_LINK`) and the event
(`S5SYNC_EVENT_LINK`, Outlook on the web by default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

from m365emu.testing import RunningEmulator
from support.web_world import ZONE, WebWorld, web_world

ALICE = "alice@contoso.example"
TASKS = "https://s5.contoso.test/tasks/{id}"


@pytest.fixture
async def linked(tmp_path: Path, running: RunningEmulator) -> AsyncIterator[WebWorld]:
    running.emulator.faults.clear()
    async with web_world(tmp_path, running, task_link=TASKS) as built:
        yield built


async def test_two_tasks_of_one_title_are_told_apart_by_time_and_link_issue20(
    linked: WebWorld,
) -> None:
    alice = await linked.sign_in(ALICE)
    await linked.onboard(ALICE)
    employee = await linked.employee(ALICE)
    day = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=1)
    ids = [
        linked.add_task(
            ALICE, "Deliver sofa", f"{day}T{h:02d}:00:00", f"{day}T{h:02d}:30:00", employee
        )
        for h in (9, 14)
    ]
    await linked.cycle(ALICE)
    page = BeautifulSoup((await alice.browser.get("/dashboard")).text, "html.parser")
    rows = page.select("#activity tbody tr")
    said = sorted(row.select("td")[-1].get_text(" ", strip=True) for row in rows)
    when = f"{day:%a %d %b}"
    assert [line.split(" Open the task")[0][-len(when) - 8 :] for line in said] == [
        f"— {when} 09:00",
        f"— {when} 14:00",
    ]
    hrefs = sorted(a["href"] for row in rows for a in row.select("a"))
    events = {e["subject"]: e["id"] for e in linked.events(ALICE)}
    assert len(events) == 1  # one subject, two events
    pushed = sorted(e["id"] for e in linked.events(ALICE))
    assert hrefs == sorted(
        [TASKS.replace("{id}", str(i)) for i in ids]
        + [f"https://outlook.office.com/calendar/item/{quote(e, safe='')}" for e in pushed]
    )
