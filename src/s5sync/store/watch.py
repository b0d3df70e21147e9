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

from sqlalchemy import insert, select, update

from s5sync.store.database import Database
from s5sync.store.models import AppUser, StoreWatch, Tenant
from s5sync.systemfive.watcher import Watermark

SLACK = timedelta(seconds=0.5)  # a tick that comes a little early still polls


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
        seen = frozenset((int(pair[0]), str(pair[1])) for pair in row.seen or [])
        return Watermark(row.watermark, seen)

    async def save(self, tenant_id: int, mark: Watermark, now: datetime) -> None:
        """One UPDATE once the store has its row (every poll after the first)."""
        values = {
            "watermark": mark.value,
            "seen": sorted([task_id, stamp] for task_id, stamp in mark.seen),
            "polled_at": now,
        }
        async with self.db.connection(tenant_id) as conn:
            done = await conn.execute(
                update(StoreWatch).where(StoreWatch.tenant_id == tenant_id).values(**values)
            )
            if done.rowcount == 0:
                await conn.execute(insert(StoreWatch).values(tenant_id=tenant_id, **values))

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
