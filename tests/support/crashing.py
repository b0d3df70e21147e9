"""Ports that "kill the process" at the n-th write (R16: no duplicate after a crash at any
point).

`CrashPlan.arm(n, after=…)` makes the n-th write of the next cycle — a batch of event
creates or updates, an imported task's insert or update — raise
`Crash`, either before it reaches the other side (the pending row is committed, nothing
sent) or after the other side applied it (the answer is lost, the link row not yet
completed). `Crash` is a BaseException, so `CycleEngine`'s `except Exception` does not
catch it: nothing after the crash point runs — no activity, no run record, the lease
stays held — exactly as after a `kill -9`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from s5sync.core.snapshots import TaskDraft, TaskSnapshot
from s5sync.sync.ports import (
    CalendarGateway,
    EventUpdate,
    EventWrite,
    MasterCategory,
    TaskStore,
    WriteConflict,
    WriteResult,
)
from s5sync.systemfive.errors import SystemFiveUnavailable
from s5sync.testing.crashing import CalendarReads, TaskReads

T = TypeVar("T")


class Crash(BaseException):
    """The process died at a write point."""


@dataclass
class CrashPlan:
    """When the next crash happens, and every crash point hit so far."""

    countdown: int | None = None
    after: bool = False
    hits: list[str] = field(default_factory=list)
    # System Five's database is down: every read fails as the connector reports it.
    system_five_down: bool = False

    def reading(self) -> None:
        if self.system_five_down:
            raise SystemFiveUnavailable("System Five database unavailable (test)")

    def arm(self, nth_write: int, *, after: bool) -> None:
        self.countdown, self.after = nth_write, after

    def disarm(self) -> None:
        self.countdown = None

    async def write(self, point: str, call: Callable[[], Awaitable[T]]) -> T:
        if self.countdown is None:
            return await call()
        self.countdown -= 1
        if self.countdown > 0:
            return await call()
        self.countdown = None
        if self.after:
            await call()
            self.hits.append(f"after {point}")
            raise Crash(f"killed after {point} was applied")
        self.hits.append(f"before {point}")
        raise Crash(f"killed before {point}")


class CrashingCalendar(CalendarReads):
    """A CalendarGateway whose writes go through a CrashPlan; reads pass through."""

    def __init__(self, inner: CalendarGateway, plan: CrashPlan) -> None:
        self.inner = inner
        self.plan = plan

    async def create_events(self, writes: Sequence[EventWrite]) -> list[WriteResult]:
        return await self.plan.write("create_events", lambda: self.inner.create_events(writes))

    async def update_events(self, updates: Sequence[EventUpdate]) -> list[WriteResult]:
        return await self.plan.write("update_events", lambda: self.inner.update_events(updates))

    async def write_events(
        self, creates: Sequence[EventWrite], updates: Sequence[EventUpdate]
    ) -> tuple[list[WriteResult], list[WriteResult]]:
        return await self.plan.write(
            "write_events", lambda: self.inner.write_events(creates, updates)
        )

    async def ensure_category(self, name: str, color: str) -> bool:
        # Idempotent and made once per user: not a crash point worth a shot (a crash
        # there would only take the shot from the writes that can duplicate).
        return await self.inner.ensure_category(name, color)

    async def apply_category(
        self, name: str, color: str, known_id: str | None = None
    ) -> MasterCategory:
        return await self.inner.apply_category(name, color, known_id)


class CrashingTasks(TaskReads):
    """A TaskStore whose writes go through a CrashPlan; reads pass through."""

    def __init__(self, inner: TaskStore, plan: CrashPlan) -> None:
        self.inner = inner
        self.plan = plan

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        self.plan.reading()
        return await self.inner.push_candidates(employee_id)

    async def tasks_by_id(self, task_ids: Sequence[int]) -> dict[int, TaskSnapshot]:
        self.plan.reading()
        return await self.inner.tasks_by_id(task_ids)

    async def create_imported_task(
        self, employee_id: int, draft: TaskDraft, external_ref: str
    ) -> TaskSnapshot:
        return await self.plan.write(
            "create_imported_task",
            lambda: self.inner.create_imported_task(employee_id, draft, external_ref),
        )

    async def update_task_from_event(
        self, task_id: int, seen_updated_at: str, draft: TaskDraft
    ) -> TaskSnapshot | WriteConflict:
        return await self.plan.write(
            "update_task_from_event",
            lambda: self.inner.update_task_from_event(task_id, seen_updated_at, draft),
        )

    async def close(self) -> None:
        """The store is shared by every cycle: closed by its owner, not here."""
