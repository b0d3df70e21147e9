"""Fixtures of the TaskStore contract suite: one environment per implementation.

`task_env` is parametrized over the in-memory fake, SQLite (a temporary file) and
PostgreSQL (the run's fresh database, tables dropped and created again per test so tests
are independent). Each environment has the store under test and a desk: System Five's own
screens, which tests use to set the scene and to save or delete tasks "in System Five".
On SQL the desk is the s5emu emulator's (sync SQLAlchemy), on the fake its FakeDesk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from s5emu.desk import AddressForm, Desk, TaskForm
from s5emu.schema import create_schema, drop_schema, engine_for
from s5sync.systemfive.adapter import SqlTaskStore
from s5sync.testing.tasks import FakeTaskStore

STORE_ZONE = "America/New_York"


class SystemFiveDesk(Protocol):
    """What the contract suite does through System Five's own screens."""

    def add_employee(self, code: str, name: str, email: str) -> int: ...

    def add_customer(self, name: str, addresses: Sequence[tuple[str, str, str]] = ()) -> int: ...

    def add_task(
        self,
        employee_id: int,
        kind: str,
        title: str,
        starts_at: str,
        ends_at: str,
        *,
        customer_id: int | None = None,
        sync: bool = False,
        notes: str = "",
        alarm_minutes: int | None = None,
    ) -> int: ...

    def save_task(
        self, task_id: int, *, title: str | None = None, sync: bool | None = None
    ) -> None: ...

    def delete_task(self, task_id: int) -> None: ...


class TickingClock:
    """A deterministic clock that moves `step` on every reading."""

    def __init__(self, start: datetime, step: timedelta = timedelta(milliseconds=1)) -> None:
        self.current = start
        self.step = step

    def __call__(self) -> datetime:
        self.current += self.step
        return self.current


class EmulatorDesk:
    """The s5emu desk behind the SystemFiveDesk protocol (times as wall-clock text)."""

    def __init__(self, url: str, clock: Callable[[], datetime]) -> None:
        self.desk = Desk(engine_for(url), clock=clock)

    def add_employee(self, code: str, name: str, email: str) -> int:
        return self.desk.add_employee(code, name, email)

    def add_customer(self, name: str, addresses: Sequence[tuple[str, str, str]] = ()) -> int:
        forms = [AddressForm(kind, line1, city) for kind, line1, city in addresses]
        return self.desk.add_customer(name, forms)

    def add_task(
        self,
        employee_id: int,
        kind: str,
        title: str,
        starts_at: str,
        ends_at: str,
        *,
        customer_id: int | None = None,
        sync: bool = False,
        notes: str = "",
        alarm_minutes: int | None = None,
    ) -> int:
        form = TaskForm(
            kind,
            employee_id,
            customer_id,
            title,
            notes,
            datetime.fromisoformat(starts_at),
            datetime.fromisoformat(ends_at),
            alarm_minutes,
            sync,
        )
        return self.desk.create_task(form)

    def save_task(
        self, task_id: int, *, title: str | None = None, sync: bool | None = None
    ) -> None:
        row = self.desk.task(task_id)
        assert row is not None
        form = TaskForm(
            row.kind,
            row.employee_id,
            row.customer_id,
            row.title if title is None else title,
            row.notes,
            datetime.fromisoformat(row.starts_at),
            datetime.fromisoformat(row.ends_at),
            row.alarm_minutes,
            row.sync if sync is None else sync,
        )
        self.desk.save_task(task_id, form)

    def delete_task(self, task_id: int) -> None:
        self.desk.delete_task(task_id)

    def close(self) -> None:
        self.desk.engine.dispose()


@dataclass
class TaskEnv:
    """One implementation under test: its store, its desk, and how to make another store."""

    name: str
    store: SqlTaskStore | FakeTaskStore
    desk: SystemFiveDesk
    make_store: Callable[[Callable[[], datetime]], SqlTaskStore | FakeTaskStore]
    url: str | None
    unreachable: Callable[[], SqlTaskStore | FakeTaskStore]


@pytest.fixture(
    params=[
        "fake",
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
async def task_env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TaskEnv]:
    clock = TickingClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    if request.param == "fake":
        fake = FakeTaskStore(STORE_ZONE, clock=clock)

        def make_fake(other: Callable[[], datetime]) -> FakeTaskStore:
            twin = FakeTaskStore(STORE_ZONE, clock=other)
            twin.desk = fake.desk
            return twin

        def switched_off() -> FakeTaskStore:
            fake.unavailable = True
            return fake

        yield TaskEnv("fake", fake, fake.desk, make_fake, None, switched_off)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'systemfive.db'}"
        # Not a database: the driver connects and every statement fails. (A file that
        # cannot be opened at all leaves aiosqlite's worker thread calling into a closed
        # event loop after the test, a driver quirk that is not ours to test.)
        garbage = tmp_path / "damaged.db"
        garbage.write_bytes(b"this is not an SQLite database, " * 64)
        nowhere = f"sqlite:///{garbage}"
    else:
        url = request.getfixturevalue("pg_database")
        nowhere = "postgresql://s5:s3cret-password@127.0.0.1:1/systemfive"
        drop_schema(url)
    create_schema(url)
    desk = EmulatorDesk(url, clock)
    stores: list[SqlTaskStore] = []

    def make_sql(other: Callable[[], datetime]) -> SqlTaskStore:
        stores.append(SqlTaskStore(url, STORE_ZONE, clock=other))
        return stores[-1]

    def broken() -> SqlTaskStore:
        stores.append(SqlTaskStore(nowhere, STORE_ZONE, clock=clock))
        return stores[-1]

    store = make_sql(clock)
    try:
        yield TaskEnv(str(request.param), store, desk, make_sql, url, broken)
    finally:
        for each in stores:
            await each.close()
        desk.close()
