"""Ports that fail on their n-th write, for crash-safety tests (R16, issues 9 and 13).

`CrashingTaskStore` and `CrashingCalendar` wrap any `TaskStore` / `CalendarGateway` (the
real connectors or the fakes) and share one `WritePlan`, which numbers every write the
cycle makes on either side. How it counts is the plan's `per`:

- `per="item"` (the crash-safety tests): one write per item — each event of a
  `write_events` batch, each System Five task written, the category ensured;
- `per="batch"` (the reliability machine): one write per call — a whole `write_events`
  batch, an imported task's insert or update; ensuring the category (idempotent, once
  per user) is not a write point there.

At the plan's `at`-th write the plan *fails*:

- `after=True`: the write reaches the system first and only its answer is lost (the
  worst case for duplicates: it happened, and the cycle does not know it);
- `after=False`: it fails before the write is sent (a batch is cut at that item: the
  items before it are sent).

What failing means is the plan's `fail` callable: by default it raises `InjectedCrash`
(an ordinary exception, which the cycle's own handlers see); a test may raise
`asyncio.CancelledError` (a cancelled task) or kill the process with SIGKILL from a
subprocess (`kill_now`), so that no cleanup code runs at all. A `fail` that returns lets
the cycle go on (e.g. it arms an emulator fault for the planned write, which is then
sent alone). `crash` raises `Crash`, a BaseException that the cycle's `except Exception`
does not catch: nothing after the crash point runs (no activity, no run record, the lease
stays held), as after a `kill -9`, but in-process. `one_shot` plans fire once (`arm` /
`disarm` set them between cycles); `hits` names each write point where the plan fired.

Reads pass through, except that `system_five_down` makes System Five's reads fail as the
connector reports a database that is down (R17b).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

from s5sync.core.snapshots import EventSnapshot, TaskDraft, TaskSnapshot
from s5sync.sync.ports import (
    CalendarGateway,
    CategoriesWrite,
    Employee,
    EventUpdate,
    EventWrite,
    MasterCategory,
    TaskStore,
    WindowRead,
    WriteConflict,
    WriteResult,
)
from s5sync.systemfive.errors import SystemFiveUnavailable

T = TypeVar("T")
R = TypeVar("R")


class InjectedCrash(Exception):
    """The failure a `WritePlan` raises by default at its write."""


def raise_crash() -> None:
    raise InjectedCrash("injected failure at a write")


class Crash(BaseException):
    """The process died at a write point (not an `Exception`: the cycle cannot catch it)."""


def crash() -> None:
    raise Crash("killed at a write")


def kill_now() -> None:
    """Die at once: no `finally`, no rollback, no lease release (a crashed process)."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class WritePlan:
    """Which write fails (1-based; None: none) and how; `done` lists every write seen."""

    at: int | None = None
    after: bool = True
    fail: Callable[[], None] = raise_crash
    done: list[str] = field(default_factory=list)
    per: Literal["item", "batch"] = "item"
    one_shot: bool = False
    system_five_down: bool = False
    hits: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.done)

    def arm(self, nth_write: int, *, after: bool) -> None:
        """Fail at the `nth_write`-th write from now."""
        self.at, self.after = self.count + nth_write, after

    def disarm(self) -> None:
        self.at = None

    def reading(self) -> None:
        if self.system_five_down:
            raise SystemFiveUnavailable("System Five database unavailable (test)")

    async def call(self, name: str, point: str, send: Callable[[], Awaitable[R]]) -> R:
        """One write that is one write point however the plan counts (a task write),
        named `name` per item and `point` per batch."""
        label = name if self.per == "item" else point

        async def one(_: Sequence[str]) -> list[R]:
            return [await send()]

        [result] = await self.run([label], [label], one)
        return result

    async def batch(
        self,
        point: str,
        names: Sequence[str],
        items: Sequence[T],
        send: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
    ) -> list[R]:
        """A batch of writes: one write point per item, or per call (`per="batch"`)."""
        if self.per == "item":
            return await self.run(names, items, send)

        async def whole(part: Sequence[Sequence[T]]) -> list[list[R]]:
            return [list(await send(p)) for p in part]

        [results] = await self.run([point], [items], whole)
        return results

    def _fail(self, name: str) -> None:
        self.hits.append(f"{'after' if self.after else 'before'} {name}")
        if self.one_shot:
            self.at = None
        self.fail()

    def cut(self, names: Sequence[str]) -> int | None:
        """The index in a batch of `names` where the plan's write falls, or None."""
        if self.at is None:
            return None
        index = self.at - self.count - 1
        return index if 0 <= index < len(names) else None

    async def run(
        self,
        names: Sequence[str],
        items: Sequence[T],
        send: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
    ) -> list[R]:
        """Send `items` (one write each) through `send`, failing at the planned one."""
        index = self.cut(names)
        results: list[R] = []
        if index is None:
            results += await send(items)
            self.done.extend(names)
            return results
        upto = index + 1 if self.after else index
        if upto:
            results += await send(items[:upto])
        self.done.extend(names[:upto])
        self._fail(names[index])
        # `fail` returned: the cycle goes on. The planned write, when not sent yet, goes
        # alone (so a fault armed by `fail` meets exactly that write), then the rest.
        rest = upto
        if not self.after:
            results += await send(items[rest : rest + 1])
            rest += 1
        if rest < len(items):
            results += await send(items[rest:])
        self.done.extend(names[upto:])
        return results


class TaskReads:
    """What a crashing TaskStore passes through untouched."""

    inner: TaskStore

    async def task_by_external_ref(self, external_ref: str) -> TaskSnapshot | None:
        return await self.inner.task_by_external_ref(external_ref)

    async def employees(self) -> list[Employee]:
        return await self.inner.employees()

    async def employee_by_email(self, email: str) -> Employee | None:
        return await self.inner.employee_by_email(email)


class CalendarReads:
    """What a crashing CalendarGateway passes through untouched: its reads."""

    inner: CalendarGateway

    async def read_window(
        self, delta_link: str | None, window_start: datetime, window_end: datetime
    ) -> WindowRead:
        return await self.inner.read_window(delta_link, window_start, window_end)

    async def get_event(self, event_id: str) -> EventSnapshot | None:
        return await self.inner.get_event(event_id)

    async def find_by_task_refs(self, task_refs: Sequence[str]) -> dict[str, EventSnapshot]:
        return await self.inner.find_by_task_refs(task_refs)


class CrashingTaskStore(TaskReads):
    """A `TaskStore` whose writes follow a `WritePlan`; `close_inner=False` for a store
    shared by every cycle (closed by its owner, not here)."""

    def __init__(self, inner: TaskStore, plan: WritePlan, *, close_inner: bool = True) -> None:
        self.inner = inner
        self.plan = plan
        self.close_inner = close_inner

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        self.plan.reading()
        return await self.inner.push_candidates(employee_id)

    async def tasks_by_id(self, task_ids: Sequence[int]) -> dict[int, TaskSnapshot]:
        self.plan.reading()
        return await self.inner.tasks_by_id(task_ids)

    async def create_imported_task(
        self, employee_id: int, draft: TaskDraft, external_ref: str
    ) -> TaskSnapshot:
        return await self.plan.call(
            f"create task for {external_ref[-8:]}",
            "create_imported_task",
            lambda: self.inner.create_imported_task(employee_id, draft, external_ref),
        )

    async def update_task_from_event(
        self, task_id: int, seen_updated_at: str, draft: TaskDraft
    ) -> TaskSnapshot | WriteConflict:
        return await self.plan.call(
            f"update task {task_id}",
            "update_task_from_event",
            lambda: self.inner.update_task_from_event(task_id, seen_updated_at, draft),
        )

    async def close(self) -> None:
        if self.close_inner:
            await self.inner.close()


class CrashingCalendar(CalendarReads):
    """A `CalendarGateway` whose writes follow a `WritePlan`."""

    def __init__(self, inner: CalendarGateway, plan: WritePlan) -> None:
        self.inner = inner
        self.plan = plan

    async def write_events(
        self, creates: Sequence[EventWrite], updates: Sequence[EventUpdate]
    ) -> tuple[list[WriteResult], list[WriteResult]]:
        items: list[EventWrite | EventUpdate] = [*creates, *updates]
        names = [f"create event for {w.task_ref}" for w in creates]
        names += [f"update event for {_target(u)}" for u in updates]

        async def send(part: Sequence[EventWrite | EventUpdate]) -> list[WriteResult]:
            made = [w for w in part if isinstance(w, EventWrite)]
            patched = [u for u in part if isinstance(u, EventUpdate)]
            created, updated = await self.inner.write_events(made, patched)
            return [*created, *updated]

        results = await self.plan.batch("write_events", names, items, send)
        return results[: len(creates)], results[len(creates) :]

    async def ensure_category(self, name: str, color: str) -> bool:
        if self.plan.per == "batch":
            return await self.inner.ensure_category(name, color)
        return await self.plan.call(
            "ensure category", "ensure category", lambda: self.inner.ensure_category(name, color)
        )

    async def apply_category(
        self, name: str, color: str, known_id: str | None = None
    ) -> MasterCategory:
        if self.plan.per == "batch":
            return await self.inner.apply_category(name, color, known_id)
        return await self.plan.call(
            "ensure category",
            "ensure category",
            lambda: self.inner.apply_category(name, color, known_id),
        )


def _target(update: EventUpdate) -> str | None:
    """What a write names: its task, or the event itself for a categories-only PATCH."""
    if isinstance(update.write, CategoriesWrite):
        return update.event_id
    return update.write.task_ref
