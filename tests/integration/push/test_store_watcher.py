"""The store-wide System Five watcher (R14b) on the s5emu reference schema (SQLite and
PostgreSQL) and a real CALENDAREVENT database: one statement per poll, only the users
whose tasks were saved are woken, no save missed or counted twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5emu.schema import task as task_table
from s5sync.entrypoints.bootstrap import Services
from s5sync.store.models import Activity
from s5sync.store.subscriptions import SubscriptionRows
from s5sync.store.watch import WatchStore
from s5sync.systemfive import statements
from s5sync.systemfive.adapter import SqlTaskStore
from s5sync.systemfive.watcher import StoreWatcher
from support.push_world import Clock, add_user


def form(employee_id: int, title: str) -> TaskForm:
    start = datetime(2026, 12, 10, 9, 0)
    return TaskForm(
        "delivery", employee_id, None, title, "", start, start + timedelta(hours=1), None, True
    )


async def test_only_the_users_whose_tasks_were_saved_are_woken_R14b(
    services: Services, systemfive_url: str
) -> None:
    clock = Clock()
    engine = engine_for(systemfive_url)
    desk = Desk(engine, clock=lambda: datetime.now(UTC))
    alice_emp = desk.add_employee("A", "Alice", "alice@example.com")
    bob_emp = desk.add_employee("B", "Bob", "bob@example.com")
    desk.create_task(form(alice_emp, "before the watcher"))
    tenant_id, alice = await add_user(services, clock, "alice@example.com", employee_id=alice_emp)
    _, bob = await add_user(
        services, clock, "bob@example.com", employee_id=bob_emp, heartbeat=False
    )
    store = SqlTaskStore(systemfive_url, "America/New_York")
    woken: list[int] = []

    async def saves_for(_tenant: int) -> SqlTaskStore:
        return store

    watcher = StoreWatcher(WatchStore(services.db), saves_for, woken.append, clock)
    try:
        assert await watcher.poll(tenant_id) == []  # the first look wakes nobody
        task = desk.create_task(form(alice_emp, "new delivery"))
        assert await watcher.poll(tenant_id) == [alice]
        assert await watcher.poll(tenant_id) == []  # seen once only
        desk.save_task(task, form(alice_emp, "saved again"))
        desk.create_task(form(bob_emp, "bob's"))
        assert sorted(await watcher.poll(tenant_id)) == sorted([alice, bob])
        # A save stamped earlier than the newest one seen (its transaction committed late).
        late = (datetime.now(UTC) - timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with engine.begin() as conn:
            conn.execute(
                insert(task_table).values(
                    employee_id=bob_emp,
                    kind="internal",
                    title="late",
                    starts_at="2026-12-10T09:00:00",
                    ends_at="2026-12-10T10:00:00",
                    sync=0,
                    needs_review=0,
                    updated_at=late,
                )
            )
        assert await watcher.poll(tenant_id) == [bob]
        # R14: bob has no heartbeat, so the change wakes only alice's cycles.
        assert await SubscriptionRows(services.db, services.box).note_changes(woken, clock()) == [
            alice
        ]
    finally:
        await store.close()
        engine.dispose()


def raw_task(employee_id: int, title: str, updated_at: str | None) -> dict[str, object]:
    """A task INSERTed by SQL by another tool (not through System Five's screens)."""
    return {
        "employee_id": employee_id,
        "kind": "delivery",
        "title": title,
        "starts_at": "2026-12-10T09:00:00",
        "ends_at": "2026-12-10T10:00:00",
        "sync": 1,
        "needs_review": 0,
        "updated_at": updated_at,
    }


async def test_no_save_is_missed_whatever_updated_at_holds_R14b(
    services: Services, systemfive_url: str
) -> None:
    """Audit gap 3: a task inserted with no `updated_at`, one stamped in the store's
    wall-clock time (SPEC: times are wall-clock, no offset), a later wall-clock save of
    an existing task, and a value that is not a time (skipped with an activity line)."""
    clock = Clock()
    zone = "America/New_York"
    engine = engine_for(systemfive_url)
    desk = Desk(engine, clock=lambda: datetime.now(UTC))
    alice_emp = desk.add_employee("A", "Alice", "alice@example.com")
    tenant_id, alice = await add_user(services, clock, "alice@example.com", employee_id=alice_emp)
    store = SqlTaskStore(systemfive_url, zone)

    async def saves_for(_tenant: int) -> SqlTaskStore:
        return store

    def real_now() -> datetime:
        return datetime.now(UTC)

    def wall_now(seconds: int = 0) -> str:  # SPEC's form, to the second
        moment = datetime.now(ZoneInfo(zone)) + timedelta(seconds=seconds)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")

    watcher = StoreWatcher(WatchStore(services.db), saves_for, lambda _user: None, real_now)
    try:
        desk.create_task(form(alice_emp, "seen at the first look"))
        assert await watcher.poll(tenant_id) == []
        with engine.begin() as conn:
            conn.execute(insert(task_table).values(raw_task(alice_emp, "no stamp", None)))
        assert await watcher.poll(tenant_id) == [alice]
        assert await watcher.poll(tenant_id) == []
        with engine.begin() as conn:
            key = conn.execute(
                insert(task_table).values(raw_task(alice_emp, "wall clock", wall_now(-2)))
            ).inserted_primary_key
        assert key is not None
        new = int(key[0])
        assert await watcher.poll(tenant_id) == [alice]
        assert await watcher.poll(tenant_id) == []
        # A save of an existing task in wall-clock time: as text it sorts hours below the
        # UTC watermark in New York, but it is a time after it.
        with engine.begin() as conn:
            conn.execute(
                update(task_table)
                .where(task_table.c.id == new)
                .values(title="saved in wall time", updated_at=wall_now())
            )
        assert await watcher.poll(tenant_id) == [alice]
        # Not a time: skipped (R23), said once in alice's activity log, never a crash.
        with engine.begin() as conn:
            conn.execute(update(task_table).where(task_table.c.id == new).values(updated_at="~"))
        assert await watcher.poll(tenant_id) == []
        assert await watcher.poll(tenant_id) == []
        query = select(Activity.task_id, Activity.reason, Activity.message)
        async with services.db.connection(tenant_id, write=False) as db_conn:
            lines = list(await db_conn.execute(query.where(Activity.user_id == alice)))
        assert [(line.task_id, line.reason) for line in lines] == [(new, "bad_time")]
        assert "'~' is not a time" in lines[0].message
    finally:
        await store.close()
        engine.dispose()


def test_the_watchers_statement_searches_two_indexes_on_sqlite_R14b(tmp_path: Path) -> None:
    """docs/operations.md: one statement, two index range scans (`ix_task_updated_at`
    and the primary key), never a scan of the whole `task` table. (SQLite scans the
    table for the same filter written with OR; PostgreSQL's plan is in the docs.)"""
    url = f"sqlite:///{tmp_path / 's5.db'}"
    create_schema(url)
    engine = engine_for(url)
    try:
        sql = str(statements.TASKS_SAVED_SINCE.text)
        with engine.connect() as conn:
            plan = [
                str(row[3])
                for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN "
                    + sql.replace(":since", "?").replace(":last_id", "?").replace(":limit", "?"),
                    ("2026-11-30T08:00:00.000000Z", 5, 10_000),
                )
            ]
    finally:
        engine.dispose()
    assert any("USING INDEX ix_task_updated_at" in step for step in plan), plan
    assert any("INTEGER PRIMARY KEY" in step for step in plan), plan
    assert not any(step.startswith("SCAN t") or step == "SCAN n" for step in plan), plan
