"""FakeTaskStore: the TaskStore port in memory, with System Five's own screens beside it.

Behaves as `SqlTaskStore` does (the contract suite in tests/contract runs on both):
wall-clock text in the store's zone, the lowest-id Bill To / Ship To address (R4), ids
never reused, optimistic updates reporting `WriteConflict` (R12b), and the same value
adaptations (`systemfive.values`, R23). `desk` plays System Five's appointment editor,
so tests can save or delete a task "in System Five" between two cycles (R13: a desk
save sets `updated_at` and clears needs-review).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from s5sync.core.snapshots import TaskDraft, TaskKind, TaskSnapshot
from s5sync.core.timezones import zone
from s5sync.sync.ports import Employee, TaskStore, WriteConflict
from s5sync.systemfive.errors import SystemFiveUnavailable, UnknownEmployee
from s5sync.systemfive.values import ADDRESS_FIELDS, fit, snapshot, stamp
from s5sync.systemfive.watcher import Latest, Saved, TaskSaves, saved

PUSHED_KINDS = (TaskKind.CUSTOMER.value, TaskKind.DELIVERY.value)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeDesk:
    """System Five's own screens on the fake's data (employees, customers, tasks)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.employees: dict[int, Employee] = {}
        self.customers: dict[int, str] = {}
        self.addresses: list[dict[str, Any]] = []
        self.tasks: dict[int, dict[str, Any]] = {}
        self._next_id = {"employee": 1, "customer": 1, "address": 1, "task": 1}

    def next_id(self, table: str) -> int:
        # Ids are never reused, as AUTOINCREMENT / identity guarantee in the real schema.
        value = self._next_id[table]
        self._next_id[table] = value + 1
        return value

    def stamp(self, previous: str | None = None) -> str:
        return stamp(self._clock(), previous)

    def add_employee(self, code: str, name: str, email: str) -> int:
        employee_id = self.next_id("employee")
        self.employees[employee_id] = Employee(employee_id, code, name, email)
        return employee_id

    def add_customer(self, name: str, addresses: Sequence[tuple[str, str, str]] = ()) -> int:
        """A customer with (kind, line1, city) addresses, in the order given (ids ascend)."""
        customer_id = self.next_id("customer")
        self.customers[customer_id] = name
        for kind, line1, city in addresses:
            fields = dict.fromkeys(ADDRESS_FIELDS, "") | {"line1": line1, "city": city}
            self.addresses.append(
                {"id": self.next_id("address"), "customer_id": customer_id, "kind": kind} | fields
            )
        return customer_id

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
        """A task created in the appointment editor (wall-clock text in the store's zone)."""
        task_id = self.next_id("task")
        self.tasks[task_id] = {
            "id": task_id,
            "employee_id": employee_id,
            "customer_id": customer_id,
            "kind": kind,
            "title": title,
            "notes": notes,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "alarm_minutes": alarm_minutes,
            "sync": int(sync),
            "needs_review": 0,
            "external_ref": None,
            "updated_at": self.stamp(),
        }
        return task_id

    def save_task(
        self, task_id: int, *, title: str | None = None, sync: bool | None = None
    ) -> None:
        """Save the task in the appointment editor: `updated_at` set, needs-review cleared (R13)."""
        row = self.tasks[task_id]
        if title is not None:
            row["title"] = title
        if sync is not None:
            row["sync"] = int(sync)
        row["needs_review"] = 0
        row["updated_at"] = self.stamp(row["updated_at"])

    def delete_task(self, task_id: int) -> None:
        self.tasks.pop(task_id, None)

    def _lowest(self, customer_id: int | None, kind: str, prefix: str) -> dict[str, Any]:
        found = [a for a in self.addresses if a["customer_id"] == customer_id and a["kind"] == kind]
        chosen = min(found, key=lambda a: a["id"]) if found else None
        columns = {f"{prefix}_id": chosen["id"] if chosen else None}
        for name in ADDRESS_FIELDS:
            columns[f"{prefix}_{name}"] = chosen[name] if chosen else None
        return columns

    def joined(self, row: dict[str, Any]) -> dict[str, Any]:
        """The task as the connector's statements return it (customer and addresses, R4)."""
        customer_id = row["customer_id"]
        return (
            row
            | {"customer_name": self.customers.get(customer_id) if customer_id else None}
            | self._lowest(customer_id, "bill_to", "bill")
            | self._lowest(customer_id, "ship_to", "ship")
        )


class FakeTaskStore:
    """The TaskStore port in memory, for one store's time zone."""

    def __init__(
        self, time_zone: str = "America/New_York", *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        zone(time_zone)
        self.time_zone = time_zone
        self.desk = FakeDesk(clock)
        self._clock = clock
        # Set True to play a System Five that cannot be reached (R17b): every operation
        # then raises SystemFiveUnavailable, as the SQL adapter does.
        self.unavailable = False

    def _reach(self, operation: str) -> None:
        if self.unavailable:
            raise SystemFiveUnavailable(
                f"System Five database unavailable ({operation}): fake switched off"
            )

    async def close(self) -> None:
        """Nothing to release; here so the fake and the SQL adapter share one surface."""

    def _snapshot(self, task_id: int) -> TaskSnapshot:
        return snapshot(self.desk.joined(self.desk.tasks[task_id]), self.time_zone)

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        """R1: the employee's Customer and Delivery tasks with Sync ticked."""
        self._reach("push_candidates")
        rows = sorted(
            (
                row
                for row in self.desk.tasks.values()
                if row["employee_id"] == employee_id
                and row["sync"] == 1
                and row["kind"] in PUSHED_KINDS
            ),
            key=lambda row: (row["starts_at"], row["id"]),
        )
        return [self._snapshot(row["id"]) for row in rows]

    async def tasks_by_id(self, task_ids: Sequence[int]) -> dict[int, TaskSnapshot]:
        self._reach("tasks_by_id")
        return {i: self._snapshot(i) for i in sorted(set(task_ids)) if i in self.desk.tasks}

    async def task_by_external_ref(self, external_ref: str) -> TaskSnapshot | None:
        self._reach("task_by_external_ref")
        for row in self.desk.tasks.values():
            if row["external_ref"] == external_ref:
                return self._snapshot(row["id"])
        return None

    async def create_imported_task(
        self, employee_id: int, draft: TaskDraft, external_ref: str
    ) -> TaskSnapshot:
        """R9; idempotent per `external_ref` (R16) as the unique column makes the SQL one."""
        self._reach("create_imported_task")
        existing = await self.task_by_external_ref(external_ref)
        if existing is not None:
            return existing
        if employee_id not in self.desk.employees:
            raise UnknownEmployee(
                f"System Five refused a task for employee {employee_id}: no such employee"
            )
        values = fit(draft, self.time_zone)
        task_id = self.desk.next_id("task")
        self.desk.tasks[task_id] = {
            "id": task_id,
            "employee_id": employee_id,
            "customer_id": None,
            "kind": TaskKind.OUTLOOK.value,
            "title": values.title,
            "notes": values.notes,
            "starts_at": values.starts_at,
            "ends_at": values.ends_at,
            "alarm_minutes": values.alarm_minutes,
            "sync": 0,
            "needs_review": 1,
            "external_ref": external_ref,
            "updated_at": stamp(self._clock()),
        }
        task = self._snapshot(task_id)
        return replace(task, time_notes=values.adaptations + task.time_notes)

    async def update_task_from_event(
        self, task_id: int, seen_updated_at: str, draft: TaskDraft
    ) -> TaskSnapshot | WriteConflict:
        self._reach("update_task_from_event")
        row = self.desk.tasks.get(task_id)
        if row is None:
            return WriteConflict(task_id=task_id, current=None)
        if (row["updated_at"] or "") != seen_updated_at:
            return WriteConflict(task_id=task_id, current=self._snapshot(task_id))
        values = fit(draft, self.time_zone)
        row.update(
            title=values.title,
            notes=values.notes,
            starts_at=values.starts_at,
            ends_at=values.ends_at,
            alarm_minutes=values.alarm_minutes,
            needs_review=1,
            updated_at=stamp(self._clock(), seen_updated_at),
        )
        task = self._snapshot(task_id)
        return replace(task, time_notes=values.adaptations + task.time_notes)

    async def saves_since(self, since: str, last_id: int, limit: int) -> list[Saved]:
        """R14b: as `statements.TASKS_SAVED_SINCE` (text comparison of `updated_at`)."""
        self._reach("saves_since")
        rows = [
            r
            for r in self.desk.tasks.values()
            if (r["updated_at"] is not None and r["updated_at"] >= since) or r["id"] > last_id
        ]
        rows.sort(key=lambda r: r["id"])
        return [saved(r) for r in rows[:limit]]

    async def latest_save(self) -> Latest:
        self._reach("latest_save")
        stamps = [r["updated_at"] for r in self.desk.tasks.values() if r["updated_at"]]
        return Latest(max(stamps, default=None), max(self.desk.tasks, default=None))

    async def employees(self) -> list[Employee]:
        self._reach("employees")
        return sorted(self.desk.employees.values(), key=lambda e: (e.name, e.id))

    async def employee_by_email(self, email: str) -> Employee | None:
        self._reach("employee_by_email")
        found = [e for e in self.desk.employees.values() if e.email.lower() == email.lower()]
        return min(found, key=lambda e: e.id) if found else None


if TYPE_CHECKING:
    # mypy proves the fake implements the port (nothing runs here).
    _port: TaskStore = FakeTaskStore()
    _saves: TaskSaves = FakeTaskStore()
