"""The desk pages over HTTP: the appointment editor's checks and saves, Today's Tasks (R13),
and links that work when the app is mounted under a prefix (the demo's /systemfive)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from sqlalchemy import update

from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5emu.schema import task as task_table
from s5emu.web import create_app

TODAY = date(2026, 11, 25)


class Store:
    def __init__(self, url: str) -> None:
        self.desk = Desk(engine_for(url))
        self.alice = self.desk.add_employee("E001", "Alice Martin", "alice@contoso.example")
        self.zoe = self.desk.add_customer("Zoë Brontë")
        at = datetime(2026, 11, 27, 9, 0)
        self.flagged = self.desk.create_task(
            TaskForm("outlook", self.alice, None, "Call supplier", "", at, at, None, False)
        )
        with self.desk.engine.begin() as conn:
            conn.execute(
                update(task_table).where(task_table.c.id == self.flagged).values(needs_review=1)
            )


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    create_schema(url)
    store = Store(url)
    app = create_app(url, "America/New_York", today=lambda: TODAY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s5") as client:
        yield client, store
    app.state.engine.dispose()
    store.desk.engine.dispose()


def form(store: Store, **changes: str) -> dict[str, str]:
    values = {
        "kind": "delivery",
        "employee_id": str(store.alice),
        "customer_id": str(store.zoe),
        "title": "Deliver sofa",
        "notes": "Ring twice",
        "starts_at": "2026-11-26T10:00",
        "ends_at": "2026-11-26T11:00",
        "alarm_minutes": "30",
        "sync": "on",
    }
    return values | changes


async def test_creating_a_task_saves_every_field_and_returns_to_the_day(
    site: tuple[httpx.AsyncClient, Store],
) -> None:
    client, store = site
    response = await client.post("/tasks/new", data=form(store))
    assert response.status_code == 303
    assert "date=2026-11-26" in response.headers["location"]
    rows = store.desk.day(date(2026, 11, 26), TODAY, store.alice)
    created = next(row for row in rows if row.title == "Deliver sofa")
    assert (created.kind, created.customer_id, created.sync) == ("delivery", store.zoe, True)
    assert (created.starts_at, created.ends_at) == ("2026-11-26T10:00:00", "2026-11-26T11:00:00")
    assert (created.alarm_minutes, created.notes, created.needs_review) == (30, "Ring twice", False)
    assert created.updated_at


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "  "}, "Enter a title."),
        ({"ends_at": "2026-11-26T09:00"}, "The end is before the start."),
        ({"title": "x" * 101}, "The title has 101 characters; at most 100."),
        ({"notes": "n" * 4001}, "The notes have 4001 characters; at most 4000."),
        ({"starts_at": "tomorrow"}, "The start is not a date and time"),
        ({"alarm_minutes": "soon"}, "The alarm is a whole number of minutes."),
        ({"employee_id": ""}, "Choose an employee."),
    ],
)
async def test_refused_input_is_explained_on_the_form_and_nothing_is_saved(
    site: tuple[httpx.AsyncClient, Store], changes: dict[str, str], message: str
) -> None:
    client, store = site
    before = store.desk.day(date(2026, 11, 26), TODAY, None)
    response = await client.post("/tasks/new", data=form(store, **changes))
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    alert = page.find(role="alert")
    assert alert is not None
    assert message in alert.get_text()
    field = next(iter(changes))
    control = page.find(id=field)
    assert control is not None
    assert control.get("aria-invalid") == "true"
    assert message in page.find(id=f"{field}-error").get_text()  # type: ignore[union-attr]
    assert store.desk.day(date(2026, 11, 26), TODAY, None) == before
    # What was typed is shown again, so nothing the user wrote is lost.
    if field == "notes":
        assert control.get_text() == changes["notes"]


async def test_saving_a_flagged_task_clears_needs_review_and_sets_updated_at_R13(
    site: tuple[httpx.AsyncClient, Store],
) -> None:
    client, store = site
    before = store.desk.task(store.flagged)
    assert before is not None
    assert before.needs_review
    page = await client.get(f"/tasks/{store.flagged}")
    assert "needs review" in page.text
    data = form(store, kind="outlook", customer_id="", title="Call supplier", sync="")
    data.pop("sync")
    response = await client.post(f"/tasks/{store.flagged}", data=data)
    assert response.status_code == 303
    after = store.desk.task(store.flagged)
    assert after is not None
    assert not after.needs_review
    assert after.updated_at != before.updated_at
    assert not after.sync


async def test_a_refused_save_keeps_the_flag_and_the_stored_values(
    site: tuple[httpx.AsyncClient, Store],
) -> None:
    client, store = site
    before = store.desk.task(store.flagged)
    response = await client.post(f"/tasks/{store.flagged}", data=form(store, title=""))
    assert response.status_code == 422
    assert store.desk.task(store.flagged) == before


async def test_deleting_a_task_removes_its_row(site: tuple[httpx.AsyncClient, Store]) -> None:
    client, store = site
    response = await client.post(f"/tasks/{store.flagged}/delete")
    assert response.status_code == 303
    assert store.desk.task(store.flagged) is None
    assert (await client.get(f"/tasks/{store.flagged}")).status_code == 404


async def test_todays_tasks_shows_the_flagged_task_green_under_today_with_a_legend_R13(
    site: tuple[httpx.AsyncClient, Store],
) -> None:
    client, store = site
    response = await client.get("/tasks", params={"employee": str(store.alice)})
    page = BeautifulSoup(response.text, "html.parser")
    row = page.find("tr", attrs={"data-task-id": str(store.flagged)})
    assert row is not None
    assert "needs-review" in (row.get("class") or [])
    assert "Needs review" in row.get_text()
    assert "Light green: needs review" in page.get_text()
    assert page.find(id="date").get("value") == TODAY.isoformat()  # type: ignore[union-attr]
    after = await client.get("/tasks", params={"date": "2026-11-28"})
    assert f'data-task-id="{store.flagged}"' in after.text
    bad = await client.get("/tasks", params={"date": "someday"})
    assert "is not a date; showing today" in bad.text


async def test_links_carry_the_prefix_when_mounted_under_systemfive(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    create_schema(url)
    store = Store(url)
    inner = create_app(url, "America/New_York", today=lambda: TODAY)
    outer = FastAPI()
    outer.mount("/systemfive", inner)
    transport = httpx.ASGITransport(app=outer)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            page = await client.get("/systemfive/tasks")
            assert page.status_code == 200
            soup = BeautifulSoup(page.text, "html.parser")
            hrefs = [str(a["href"]) for a in soup.find_all("a") if a["href"] != "#content"]
            assert hrefs
            assert all(href.startswith("http://demo/systemfive/") for href in hrefs), hrefs
            css = soup.find("link", rel="stylesheet")
            assert css is not None
            assert (await client.get(str(css["href"]))).status_code == 200
            saved = await client.post("/systemfive/tasks/new", data=form(store))
            assert saved.headers["location"].startswith("http://demo/systemfive/tasks?")
            home = await client.get("/systemfive/")
            assert home.headers["location"] == "http://demo/systemfive/tasks"
    finally:
        inner.state.engine.dispose()
        store.desk.engine.dispose()
