"""The store-wide System Five watcher (R14b): whose tasks were created or saved?

Every `s5_poll_seconds` (a store option, 15 s) one indexed statement per store
(`statements.TASKS_SAVED_SINCE`) lists the tasks saved at or after the watermark less an
`OVERLAP`, *or* whose id is above the highest id seen; only the users whose employees own
one of them are woken (`WakeUps`), and only if active (R14). Never miss a save, never
count one twice:

- a task inserted by any tool is found by its id (`id > last_id`: SPEC's schema says task
  ids are AUTOINCREMENT, never reused), whatever its `updated_at` holds, NULL included;
- `updated_at` is compared as a time, not as text: the UTC form System Five's screens
  and s5sync write (`2026-11-25T19:30:00.123456Z`), any ISO 8601 offset, or SPEC's
  wall-clock form without offset in the store's time zone (`2026-11-25T14:30:00`). Once
  a store shows a wall-clock stamp (`Watermark.wall`) the scan starts at the earlier of
  the two texts, so a save stamped in New York's wall time is not sorted out of it;
- a value that is not a time cannot move the watermark: it is skipped with a line in
  the activity log of the employee's users (`bad_stamps`), never a crash (R23);
- a save whose time *equals* the watermark is found because the scan is `>=`;
- a save whose time is *older* than one already seen (its transaction committed late,
  or another tool's clock lags) is found while it is within `OVERLAP` of the watermark;
  and the watermark never passes the watcher's own clock, so a row stamped in the future
  (a writer whose clock runs ahead) cannot hide the saves after it;
- a row seen before is recognised by its (task id, `updated_at`) pair in `seen`, which
  holds exactly the pairs at or after the last scan's start, so the set stays as small
  as the saves of the overlap.

A deleted task leaves no row to see: the next safety-net or notification cycle marks its
event (R6b). `advance` is pure (habit 1) and table-tested; `StoreWatcher` runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from s5sync.systemfive.values import STAMP_FORMAT

log = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=60)
LIMIT = 10_000  # rows per scan; more saves than this within the overlap is logged
WALL_FORMAT = "%Y-%m-%dT%H:%M:%S"  # SPEC's wall-clock form, no offset


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


@dataclass(frozen=True)
class Latest:
    """Where the watcher starts in a store it has never watched."""

    updated_at: str | None
    task_id: int | None


@runtime_checkable
class TaskSaves(Protocol):
    """What the watcher reads from one store's System Five (SqlTaskStore, the fake)."""

    time_zone: str

    async def saves_since(self, since: str, last_id: int, limit: int) -> list[Saved]: ...

    async def latest_save(self) -> Latest: ...


@dataclass(frozen=True)
class Watermark:
    """The highest save time seen (UTC, `STAMP_FORMAT`, never past the watcher's clock),
    the pairs seen at or after the last scan's start, the highest task id seen, and
    whether the store has wall-clock stamps (no offset)."""

    value: str | None
    seen: frozenset[tuple[int, str]] = frozenset()
    last_id: int | None = None
    wall: bool = False


def moment(stamp: str, zone: str) -> datetime | None:
    """`updated_at` as an aware UTC time; None for no stamp (NULL or '').

    Raises ValueError for a value that is not an ISO 8601 time."""
    if not stamp.strip():
        return None
    try:
        parsed = datetime.fromisoformat(stamp.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(zone))
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError) as error:
        raise ValueError(f"{stamp!r} is not a time") from error


def _moment(stamp: str, zone: str) -> datetime | None:
    try:
        return moment(stamp, zone)
    except ValueError:
        return None


def _utc_text(stamp: str | None, zone: str) -> str | None:
    at = _moment(stamp or "", zone)
    return None if at is None else at.strftime(STAMP_FORMAT)


def _is_wall(stamp: str) -> bool:
    try:
        return datetime.fromisoformat(stamp.strip()).tzinfo is None
    except ValueError:
        return False


def start_moment(mark: Watermark, now: datetime | None = None) -> datetime | None:
    """The time the next scan starts at: the watermark less `OVERLAP` (with no watermark
    yet, `now` less it: saves from now on)."""
    at = _moment(mark.value, "UTC") if mark.value else None
    if at is None:
        at = now.astimezone(UTC) if now is not None else None
    return None if at is None else at - OVERLAP


def scan_start(mark: Watermark, zone: str = "UTC", now: datetime | None = None) -> str:
    """Where the next scan starts, as text to compare `updated_at` with: the earlier of
    the UTC and (once the store has them) the wall-clock texts. A watermark in another
    format (stored by an older s5sync) is used as it is."""
    at = start_moment(mark, now)
    if at is None:
        return mark.value or ""
    text = at.strftime(STAMP_FORMAT)
    if mark.wall:
        text = min(text, at.astimezone(ZoneInfo(zone)).strftime(WALL_FORMAT))
    return text


def bad_stamps(mark: Watermark, rows: Iterable[Saved], zone: str = "UTC") -> list[Saved]:
    """The rows not seen before whose `updated_at` is not a time (skipped, logged once)."""
    bad: list[Saved] = []
    for row in rows:
        if (row.task_id, row.updated_at) in mark.seen or not row.updated_at.strip():
            continue
        if _moment(row.updated_at, zone) is None:
            bad.append(row)
    return bad


def advance(
    mark: Watermark, rows: Iterable[Saved], now: datetime | None = None, zone: str = "UTC"
) -> tuple[Watermark, frozenset[int]]:
    """The new watermark and the employees whose tasks were saved since `mark`.

    A row is new if its id is above `last_id` (inserted since), or if its save time is at
    or after the scan's start and its pair was not seen. With `now`, the watermark never
    passes it: a row stamped in the future (another writer's clock ahead of ours) would
    otherwise hide every real save until that future came; such rows are simply seen
    again each poll and deduplicated."""
    rows = list(rows)
    start = start_moment(mark, now)
    times = {(r.task_id, r.updated_at): _moment(r.updated_at, zone) for r in rows}

    def fresh(row: Saved) -> bool:
        pair = (row.task_id, row.updated_at)
        if pair in mark.seen:
            return False
        if mark.last_id is not None and row.task_id > mark.last_id:
            return True
        at = times[pair]
        return at is not None and (start is None or at >= start)

    employees = frozenset(r.employee_id for r in rows if fresh(r) and r.employee_id is not None)
    known = [at for at in times.values() if at is not None]
    if mark.value and (before := _moment(mark.value, "UTC")) is not None:
        known.append(before)
    top = max(known, default=None)
    if now is not None and top is not None:
        top = min(top, now.astimezone(UTC))
    ids = [r.task_id for r in rows] + ([mark.last_id] if mark.last_id is not None else [])
    moved = Watermark(
        top.strftime(STAMP_FORMAT) if top is not None else mark.value,
        frozenset(),
        max(ids, default=None),
        mark.wall or any(_is_wall(r.updated_at) for r in rows),
    )
    new_start, new_text = start_moment(moved, now), scan_start(moved, zone, now)

    def kept(row: Saved) -> bool:
        at = times[(row.task_id, row.updated_at)]
        if at is not None:
            return new_start is None or at >= new_start
        return bool(row.updated_at.strip()) and row.updated_at >= new_text

    return replace(moved, seen=frozenset((r.task_id, r.updated_at) for r in rows if kept(r))), (
        employees
    )


async def _scan(saves: TaskSaves, mark: Watermark, now: datetime) -> list[Saved]:
    """The poll's one statement."""
    since = scan_start(mark, saves.time_zone, now)
    return await saves.saves_since(since, mark.last_id or 0, LIMIT)


class WatchRows(Protocol):
    """Where the watermark is kept between polls (store/watch.py)."""

    async def load(self, tenant_id: int) -> Watermark | None: ...

    async def save(self, tenant_id: int, mark: Watermark, now: datetime) -> None: ...

    async def users_of(self, tenant_id: int, employee_ids: Iterable[int]) -> list[int]: ...

    async def note_bad_stamps(self, tenant_id: int, rows: list[Saved], now: datetime) -> None:
        """An activity line for each of the employees' users (R18, R23)."""
        ...


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
        zone = saves.time_zone
        now = self.clock()
        mark = await self.rows.load(tenant_id)
        if mark is None or mark.last_id is None:
            # First look at this store (or at its ids: a watermark kept by an older
            # s5sync goes on): start at its newest save and highest id, wake nobody.
            latest = await saves.latest_save()
            if mark is not None and mark.value is not None:
                mark = replace(mark, last_id=latest.task_id or 0)
            else:
                stamp = latest.updated_at or ""
                mark = Watermark(
                    _utc_text(stamp, zone), last_id=latest.task_id or 0, wall=_is_wall(stamp)
                )
                rows = await saves.saves_since(
                    scan_start(mark, zone, now), mark.last_id or 0, LIMIT
                )
                await self.rows.save(tenant_id, advance(mark, rows, now, zone)[0], now)
                return []
        rows = await _scan(saves, mark, now)
        if len(rows) >= LIMIT:
            log.warning("watcher.scan_full", extra={"tenant_id": tenant_id, "rows": len(rows)})
        bad = bad_stamps(mark, rows, zone)
        if bad:
            log.warning("watcher.bad_stamp", extra={"tenant_id": tenant_id, "rows": len(bad)})
            await self.rows.note_bad_stamps(tenant_id, bad, now)
        moved, employees = advance(mark, rows, now, zone)
        await self.rows.save(tenant_id, moved, now)
        users = await self.rows.users_of(tenant_id, employees) if employees else []
        for user_id in users:
            self.wake(user_id)
        return users
