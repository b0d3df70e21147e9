"""Text System Five's databases cannot store, written through the System Five connector on
SQLite and PostgreSQL (R23): PostgreSQL refuses NUL in text outright, and no driver
encodes a lone surrogate — so the connector removes them and says so."""

from __future__ import annotations

from datetime import UTC, datetime

from s5emu.desk import Desk
from s5emu.schema import engine_for
from s5sync.core.snapshots import TaskDraft
from s5sync.systemfive.adapter import SqlTaskStore


async def test_nul_controls_and_lone_surrogates_are_removed_before_system_five_R23(
    systemfive_url: str,
) -> None:
    desk = Desk(engine_for(systemfive_url))
    try:
        employee = desk.add_employee("E9", "Eve", "eve@contoso.example")
    finally:
        desk.engine.dispose()
    store = SqlTaskStore(systemfive_url, "America/New_York")
    try:
        draft = TaskDraft(
            title="Fix\x00 the\x1b door \ud800",
            notes="line\x00 one\x07\nline two",
            start=datetime(2026, 12, 1, 15, tzinfo=UTC),
            end=datetime(2026, 12, 1, 16, tzinfo=UTC),
            alarm_minutes=None,
        )
        task = await store.create_imported_task(employee, draft, "AAMk-text-1")
        assert task.title == "Fix the door \ufffd"
        assert task.notes == "line one\nline two"
        assert "control characters removed" in task.time_notes
        again = await store.task_by_external_ref("AAMk-text-1")
        assert again is not None
        assert again.title == task.title
    finally:
        await store.close()
