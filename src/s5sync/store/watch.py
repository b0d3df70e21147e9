"""The System Five watcher's rows (R14b): one `store_watch` row per store.

`WatchStore` keeps each store's watermark between polls — in the database, so any
worker of the distributed scheduler can take the next poll — and finds the users of the
employees whose tasks were saved. `due(now)` lists the stores whose `s5_poll_seconds`
have passed since their last poll (procrastinate's periodic tick); the local driver
keeps its poll times in memory (`poll_seconds`) and its watermarks in `CachedWatch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from s5sync.core.reasons import Action, Direction, Reason
from s5sync.core.records import ActivityEntry
from s5sync.store.cycle_rows import activity_row
from s5sync.store.database import Database
from s5sync.store.models import Activity, AppUser, StoreWatch, Tenant
from s5sync.systemfive.watcher import Saved, Watermark

SLACK = timedelta(seconds=0.5)  # a tick that comes a little early still polls


def _watermark(value: str | None, stored: Any) -> Watermark:
    """The stored row: `seen` is {"pairs", "last_id", "wall"} (or, as an older s5sync
    wrote it, the list of pairs alone: no ids seen yet)."""
    if isinstance(stored, dict):
        pairs, last_id, wall = stored.get("pairs") or [], stored.get("last_id"), stored.get("wall")
    else:
        pairs, last_id, wall = stored or [], None, False
    seen = frozenset((int(pair[0]), str(pair[1])) for pair in pairs)
    return Watermark(value, seen, last_id if isinstance(last_id, int) else None, bool(wall))


def _seen_json(mark: Watermark) -> dict[str, Any]:
    pairs = sorted([task_id, stamp] for task_id, stamp in mark.seen)
    return {"pairs": pairs, "last_id": mark.last_id, "wall": mark.wall}


def _bad_stamp_line(row: Saved) -> ActivityEntry:
    shown = row.updated_at[:40]
    return ActivityEntry(
        direction=Direction.PUSH.value,
        action=Action.SKIP.value,
        reason=Reason.BAD_TIME.value,
        task_id=row.task_id,
        event_id=None,
        subject=f"task {row.task_id}",
        message=(
            f"System Five's updated_at {shown!r} is not a time: the watcher cannot tell when "
            "this task was saved, so its changes cross at the next cycle (Sync now or the "
            "safety net), not within seconds"
        ),
    )


class WatchStore:
    """`systemfive.watcher.WatchRows` on the CALENDAREVENT database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, tenant_id: int) -> Watermark | None:
        query = select(StoreWatch.watermark, StoreWatch.seen).where(
            StoreWatch.tenant_id == tenant_id
        )
        async with self.db.connection(tenant_id, write=False) as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return _watermark(row.watermark, row.seen)

    async def save(self, tenant_id: int, mark: Watermark, now: datetime) -> None:
        """One UPDATE once the store has its row (every poll after the first)."""
        values = {"watermark": mark.value, "seen": _seen_json(mark), "polled_at": now}
        async with self.db.connection(tenant_id) as conn:
            done = await conn.execute(
                update(StoreWatch).where(StoreWatch.tenant_id == tenant_id).values(**values)
            )
            if done.rowcount == 0:
                await conn.execute(insert(StoreWatch).values(tenant_id=tenant_id, **values))

    async def note_bad_stamps(self, tenant_id: int, rows: list[Saved], now: datetime) -> None:
        """R18, R23: a task whose `updated_at` is not a time is said in the activity log
        of its employee's users (the watcher skips it; their cycles still read it)."""
        lines: list[dict[str, Any]] = []
        for row in rows:
            if row.employee_id is None:
                continue
            for user_id in await self.users_of(tenant_id, [row.employee_id]):
                line = activity_row(_bad_stamp_line(row))
                lines.append({"tenant_id": tenant_id, "user_id": user_id, "at": now, **line})
        if lines:
            async with self.db.connection(tenant_id) as conn:
                await conn.execute(insert(Activity), lines)

    async def users_of(self, tenant_id: int, employee_ids: Iterable[int]) -> list[int]:
        employees = sorted(set(employee_ids))
        if not employees:
            return []
        query = select(AppUser.id).where(
            AppUser.tenant_id == tenant_id, AppUser.employee_id.in_(employees)
        )
        async with self.db.connection(tenant_id, write=False) as conn:
            return [row.id for row in await conn.execute(query)]

    async def due(self, now: datetime) -> list[int]:
        """The stores to poll now (cross-store, the scheduler's view like `Directory`)."""
        query = select(Tenant.id, Tenant.s5_poll_seconds, StoreWatch.polled_at).outerjoin(
            StoreWatch, StoreWatch.tenant_id == Tenant.id
        )
        async with self.db.connection(write=False) as conn:
            rows = list(await conn.execute(query))
        return [
            row.id
            for row in rows
            if row.polled_at is None
            or now - row.polled_at >= timedelta(seconds=row.s5_poll_seconds) - SLACK
        ]

    async def poll_seconds(self) -> dict[int, int]:
        """Every store's `s5_poll_seconds` (the local driver keeps its own poll times)."""
        async with self.db.connection(write=False) as conn:
            rows = await conn.execute(select(Tenant.id, Tenant.s5_poll_seconds))
            return {row.id: int(row.s5_poll_seconds) for row in rows}


class CachedWatch:
    """`WatchRows` for the local driver, the one poller of its process's stores: each
    store's watermark is read from the database once and written only when it moves
    (a poll that found nothing new costs the System Five scan alone). Two processes
    polling the same store each keep their own: a save is then a hint twice, never lost."""

    def __init__(self, rows: WatchStore) -> None:
        self.rows = rows
        self.marks: dict[int, Watermark] = {}

    async def load(self, tenant_id: int) -> Watermark | None:
        mark = self.marks.get(tenant_id)
        if mark is None:
            mark = await self.rows.load(tenant_id)
            if mark is not None:
                self.marks[tenant_id] = mark
        return mark

    async def save(self, tenant_id: int, mark: Watermark, now: datetime) -> None:
        if self.marks.get(tenant_id) != mark:
            await self.rows.save(tenant_id, mark, now)
            self.marks[tenant_id] = mark

    async def users_of(self, tenant_id: int, employee_ids: Iterable[int]) -> list[int]:
        return await self.rows.users_of(tenant_id, employee_ids)

    async def note_bad_stamps(self, tenant_id: int, rows: list[Saved], now: datetime) -> None:
        await self.rows.note_bad_stamps(tenant_id, rows, now)
