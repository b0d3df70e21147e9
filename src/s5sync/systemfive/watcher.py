"""The store-wide System Five watcher (R14b): whose tasks were created or saved?

Every `s5_poll_seconds` (a store option, 15 s) one indexed statement per store
(`statements.TASKS_SAVED_SINCE`) lists the tasks saved at or after the watermark less an
`OVERLAP`; only the users whose employees own one of them are woken (`WakeUps`), and
only if active (R14). Never miss a save, never count one twice:

- a save whose `updated_at` *equals* the watermark is found because the scan is `>=`;
- a save whose `updated_at` is *older* than one already seen (its transaction committed
  late, or another tool's clock lags) is found while it is within `OVERLAP` of the
  watermark; and the watermark never passes the watcher's own clock, so a row stamped
  in the future (a writer whose clock runs ahead) cannot hide the saves after it;
- a row seen before is recognised by its (task id, `updated_at`) pair in `seen`, which
  holds exactly the pairs at or after the last scan's start, so the set stays as small
  as the saves of the overlap.

A deleted task leaves no row to see: the next safety-net or notification cycle marks its
event (R6b). `advance` is pure (habit 1) and table-tested; `StoreWatcher` runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from s5sync.systemfive.values import STAMP_FORMAT

log = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=60)
LIMIT = 10_000  # rows per scan; more saves than this within the overlap is logged


@dataclass(frozen=True)
class Saved:
    """A task row as the watcher reads it."""

    task_id: int
    employee_id: int | None
    updated_at: str


def saved(row: Any) -> Saved:
    """Read defensively: SQLite columns can hold any type (DESIGN.md "Traps")."""
    employee = row["employee_id"]
    return Saved(
        int(row["id"]),
        employee if isinstance(employee, int) else None,
        "" if row["updated_at"] is None else str(row["updated_at"]),
    )


@runtime_checkable
class TaskSaves(Protocol):
    """What the watcher reads from one store's System Five (SqlTaskStore, the fake)."""

    async def saves_since(self, since: str, limit: int) -> list[Saved]: ...

    async def latest_save(self) -> str | None: ...


@dataclass(frozen=True)
class Watermark:
    """The highest `updated_at` seen and the pairs seen at or after the last scan's start."""

    value: str | None
    seen: frozenset[tuple[int, str]] = frozenset()


def scan_start(mark: Watermark) -> str:
    """Where the next scan starts: the watermark less `OVERLAP` (text in System Five's
    `updated_at` format; a value in another format is used as it is)."""
    if mark.value is None:
        return ""
    try:
        moment = datetime.strptime(mark.value, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return mark.value
    return (moment - OVERLAP).strftime(STAMP_FORMAT)


def advance(
    mark: Watermark, rows: Iterable[Saved], now: datetime | None = None
) -> tuple[Watermark, frozenset[int]]:
    """The new watermark and the employees whose tasks were saved since `mark`.

    With `now`, the watermark never passes it: a row stamped in the future (another
    writer's clock ahead of ours) would otherwise hide every real save until that
    future came; such rows are simply seen again each poll and deduplicated."""
    rows = list(rows)
    fresh = [r for r in rows if (r.task_id, r.updated_at) not in mark.seen]
    employees = frozenset(r.employee_id for r in fresh if r.employee_id is not None)
    top = max([r.updated_at for r in rows] + ([mark.value] if mark.value else []), default=None)
    if now is not None and top is not None:
        top = min(top, now.astimezone(UTC).strftime(STAMP_FORMAT))
    moved = Watermark(top, frozenset())
    start = scan_start(moved)
    seen = frozenset((r.task_id, r.updated_at) for r in rows if r.updated_at >= start)
    return Watermark(top, seen), employees


class WatchRows(Protocol):
    """Where the watermark is kept between polls (store/watch.py)."""

    async def load(self, tenant_id: int) -> Watermark | None: ...

    async def save(self, tenant_id: int, mark: Watermark, now: datetime) -> None: ...

    async def users_of(self, tenant_id: int, employee_ids: Iterable[int]) -> list[int]: ...


class StoreWatcher:
    """Polls one store's System Five once and wakes the users whose tasks changed."""

    def __init__(
        self,
        rows: WatchRows,
        saves_for: Callable[[int], Awaitable[TaskSaves]],
        wake: Callable[[int], None],
        clock: Callable[[], datetime],
    ) -> None:
        self.rows = rows
        self.saves_for = saves_for
        self.wake = wake
        self.clock = clock

    async def poll(self, tenant_id: int) -> list[int]:
        """One scan of the store; the users woken (R14 is checked when they are)."""
        saves = await self.saves_for(tenant_id)
        now = self.clock()
        mark = await self.rows.load(tenant_id)
        if mark is None or mark.value is None:
            # First look at this store: start from its newest save, wake nobody.
            latest = await saves.latest_save()
            start = Watermark(latest)
            rows = await saves.saves_since(scan_start(start), LIMIT) if latest else []
            await self.rows.save(tenant_id, advance(start, rows, now)[0], now)
            return []
        rows = await saves.saves_since(scan_start(mark), LIMIT)
        if len(rows) >= LIMIT:
            log.warning("watcher.scan_full", extra={"tenant_id": tenant_id, "rows": len(rows)})
        moved, employees = advance(mark, rows, now)
        await self.rows.save(tenant_id, moved, now)
        users = await self.rows.users_of(tenant_id, employees) if employees else []
        for user_id in users:
            self.wake(user_id)
        return users
