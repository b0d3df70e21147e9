"""An update from Outlook racing a save in System Five's appointment editor loses neither
(R12b, DESIGN.md "System Five writes are optimistic")."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx

from s5emu.desk import Desk, TaskForm
from s5emu.schema import engine_for
from s5emu.web import create_app
from s5sync.core.snapshots import TaskDraft
from s5sync.sync.ports import WriteConflict
from s5sync.systemfive.adapter import SqlTaskStore

ZONE = "America/New_York"


async def test_editor_save_between_read_and_write_is_reported_as_conflict_R12b(
    systemfive_url: str,
) -> None:
    desk = Desk(engine_for(systemfive_url))
    alice = desk.add_employee("E001", "Alice Martin", "alice@contoso.example")
    start = datetime(2026, 12, 1, 10, 0)
    task_id = desk.create_task(
        TaskForm("delivery", alice, None, "Deliver sofa", "", start, start, 15, sync=True)
    )
    desk.engine.dispose()
    store = SqlTaskStore(systemfive_url, ZONE)
    app = create_app(systemfive_url, ZONE, today=lambda: date(2026, 11, 25))
    outlook = TaskDraft(
        title="Deliver sofa (from Outlook)",
        notes="Moved by the customer",
        start=datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
        end=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
        alarm_minutes=30,
    )
    try:
        seen = (await store.tasks_by_id([task_id]))[task_id]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://s5"
        ) as client:
            saved = await client.post(
                f"/tasks/{task_id}",
                data={
                    "kind": "delivery",
                    "employee_id": str(alice),
                    "customer_id": "",
                    "title": "Deliver sofa — call first",
                    "notes": "Staff note",
                    "starts_at": "2026-12-01T10:00",
                    "ends_at": "2026-12-01T11:00",
                    "alarm_minutes": "15",
                    "sync": "on",
                },
            )
        assert saved.status_code == 303

        outcome = await store.update_task_from_event(task_id, seen.updated_at, outlook)

        assert isinstance(outcome, WriteConflict)
        assert outcome.current is not None
        assert (outcome.current.title, outcome.current.notes) == (
            "Deliver sofa — call first",
            "Staff note",
        )
        # The editor's save is kept; the next cycle decides again and its write lands.
        again = await store.update_task_from_event(task_id, outcome.current.updated_at, outlook)
        assert not isinstance(again, WriteConflict)
        assert (again.title, again.needs_review) == ("Deliver sofa (from Outlook)", True)
    finally:
        await store.close()
