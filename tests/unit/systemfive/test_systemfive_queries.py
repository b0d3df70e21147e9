"""The connector's reads are one statement each, however many tasks (R1, R4), and the
fake offers exactly the SQL adapter's operations (STYLE.md habit 5)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from s5emu.desk import AddressForm, Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5sync.core.snapshots import TaskDraft
from s5sync.core.timezones import UnknownTimeZone
from s5sync.systemfive import statements
from s5sync.systemfive.adapter import SqlTaskStore
from s5sync.systemfive.errors import SystemFiveRefused
from s5sync.testing.tasks import FakeTaskStore


def public_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_fake_and_sql_adapter_offer_the_same_operations() -> None:
    assert public_methods(FakeTaskStore) == public_methods(SqlTaskStore)
    assert {"push_candidates", "tasks_by_id", "create_imported_task"} <= public_methods(
        SqlTaskStore
    )


def test_every_statement_is_named_and_commented() -> None:
    named = {
        name: value
        for name, value in vars(statements).items()
        if name.isupper() and not name.startswith("_")
    }
    assert set(named) == {
        "PUSH_CANDIDATES",
        "TASKS_BY_ID",
        "TASK_BY_EXTERNAL_REF",
        "INSERT_IMPORTED_TASK",
        "UPDATE_TASK_FROM_EVENT",
        "EMPLOYEES",
        "EMPLOYEE_BY_EMAIL",
        "TASKS_SAVED_SINCE",  # R14b: the store-wide watcher
        "LATEST_SAVE",
    }
    assert all(str(value).lstrip().startswith("--") for value in named.values())


def seed(url: str, count: int) -> int:
    desk = Desk(engine_for(url))
    try:
        alice = desk.add_employee("E001", "Alice Martin", "alice@contoso.example")
        customer = desk.add_customer(
            "Zoë Brontë",
            [AddressForm("bill_to", "1 Bill Rd", "Albany"), AddressForm("ship_to", "2", "Troy")],
        )
        start = datetime(2026, 12, 1, 9, 0)
        for index in range(count):
            at = start + timedelta(hours=index)
            form = TaskForm(
                "delivery", alice, customer, f"Task {index}", "", at, at, None, sync=True
            )
            desk.create_task(form)
        return alice
    finally:
        desk.engine.dispose()


@pytest.mark.parametrize("count", [1, 50])
async def test_push_candidates_is_one_statement_however_many_tasks_R1(
    systemfive_url: str, count: int
) -> None:
    alice = seed(systemfive_url, count)
    store = SqlTaskStore(systemfive_url, "America/New_York")
    try:
        await store.employees()  # connect first: driver set-up queries are not ours
        seen: list[str] = []

        def count_statement(*args: Any) -> None:
            seen.append(args[2])

        event.listen(store.engine.sync_engine, "before_cursor_execute", count_statement)
        if store._pg is not None:  # PostgreSQL: the cycle's read runs on asyncpg alone
            store._pg.add_query_logger(lambda logged: seen.append(logged.query))
        tasks = await store.push_candidates(alice)
        await asyncio.sleep(0)  # asyncpg calls its query loggers on the loop's next turn
        assert len(tasks) == count
        assert all(task.bill_to is not None and task.ship_to is not None for task in tasks)
        assert len(seen) == 1, seen
        seen.clear()
        found = await store.tasks_by_id([task.id for task in tasks])
        assert len(found) == count
        assert len(seen) == 1
    finally:
        await store.close()


async def test_an_unreadable_task_is_returned_marked_and_logged_not_fatal_R23(
    systemfive_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """R23: the row comes back marked `unreadable` (never absent: absent means deleted,
    R6/R11b, and would stop its link for good); the log names the task, not its values."""
    alice = seed(systemfive_url, 3)
    engine = engine_for(systemfive_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE task SET starts_at = 'next tuesday' WHERE id = 2"))
    engine.dispose()
    store = SqlTaskStore(systemfive_url, "America/New_York")
    try:
        with caplog.at_level(logging.WARNING, logger="s5sync.systemfive.adapter"):
            tasks = sorted(await store.push_candidates(alice), key=lambda task: task.id)
        assert [task.id for task in tasks] == [1, 2, 3]
        assert [task.unreadable for task in tasks] == [
            None,
            "start 'next tuesday' is not a date and time",
            None,
        ]
        assert [record.msg for record in caplog.records] == ["systemfive.task_unreadable"]
        assert caplog.records[0].__dict__["task_id"] == 2
        assert (await store.tasks_by_id([2]))[2].unreadable is not None
    finally:
        await store.close()


async def test_many_ids_are_read_in_chunks_within_driver_limits(systemfive_url: str) -> None:
    seed(systemfive_url, 3)
    store = SqlTaskStore(systemfive_url, "America/New_York")
    try:
        found = await store.tasks_by_id(list(range(1, 2501)))
        assert sorted(found) == [1, 2, 3]
    finally:
        await store.close()


def test_an_unknown_store_time_zone_is_refused_at_construction() -> None:
    with pytest.raises(UnknownTimeZone, match="Mars/Olympus"):
        SqlTaskStore("sqlite:///unused.db", "Mars/Olympus")
    with pytest.raises(UnknownTimeZone):
        FakeTaskStore("Mars/Olympus")


async def test_values_a_stricter_store_schema_refuses_raise_a_known_error_R23(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'strict.db'}"
    create_schema(url)
    seed(url, 1)
    engine = engine_for(url)
    with engine.begin() as conn:
        # A store whose own System Five forbids some titles (a trigger of its own).
        conn.execute(
            text(
                "CREATE TRIGGER no_forbidden BEFORE UPDATE ON task "
                "WHEN NEW.title LIKE '%forbidden%' BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
        )
    engine.dispose()
    store = SqlTaskStore(url, "America/New_York")
    try:
        task = (await store.tasks_by_id([1]))[1]
        start = datetime(2026, 12, 1, 15, tzinfo=UTC)
        draft = TaskDraft("a forbidden title", "", start, start, None)
        with pytest.raises(SystemFiveRefused, match="update_task_from_event"):
            await store.update_task_from_event(1, task.updated_at, draft)
        assert (await store.tasks_by_id([1]))[1] == task
    finally:
        await store.close()
