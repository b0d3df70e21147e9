"""A cycle's start, window save and finish on SQLite: SQLAlchemy Core statements on one
connection per transaction (`store/cycle_statements.py`; issue 12: no ORM session, no
identity map). In process, so its statements cost no round trips; PostgreSQL does the
same in one server-side function per phase (`store/cycles_pg.py`, issue 25).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from s5sync.core.records import Lease
from s5sync.core.snapshots import Link
from s5sync.store import cycle_statements as q
from s5sync.store.cycle_rows import (
    activity_row,
    cached_event,
    deleted_row,
    delta_record,
    link_values,
    replaced_row,
    sealed_link,
    sealed_upserts,
    stale_ids,
)
from s5sync.store.database import Database
from s5sync.store.directory import NotFound, tenant_record, user_record
from s5sync.store.repositories import link_snapshot
from s5sync.store.secrets import SecretBox
from s5sync.sync.holders import holder_gone
from s5sync.sync.ports import CycleEnd, CycleStart, Refusal, WindowSave


class SqliteCycles:
    """`start`, `save_window` and `finish` of `SqlCycleStore` on SQLite."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db, self.box, self.tenant_id = db, box, tenant_id

    async def start(
        self, user_id: int, holder: str, now: datetime, ttl: timedelta
    ) -> CycleStart | Refusal:
        mine = {"tid": self.tenant_id, "uid": user_id}
        async with self.db.connection(self.tenant_id) as conn:
            row = (await conn.execute(q.GET_TENANT, mine)).one_or_none()
            if row is None:
                raise NotFound(f"store {self.tenant_id} no longer exists")
            tenant = tenant_record(row)  # type: ignore[arg-type]  # a Row has the attributes
            # The lease lasts less than the interval, so a lost worker delays one cycle.
            expires = now + min(ttl, timedelta(minutes=tenant.options.interval_minutes) * 0.9)
            asked = {**mine, "now": now, "holder": holder, "expires": expires}
            taken = (await conn.execute(q.TAKE_LEASE, asked)).one_or_none()
            if taken is None:
                taken = await self._take_over(conn, asked)
                if isinstance(taken, Refusal):
                    return taken
            lease = Lease(user_id, holder, taken.lease_fence, expires)
            run_id = await conn.scalar(
                q.OPEN_RUN,
                {
                    "tenant_id": self.tenant_id,
                    "user_id": user_id,
                    "now": now,
                    "started_at": now,
                    "fence": lease.fence,
                    "counts": {},
                    "graph_requests": {},
                    "skip_keys": [],
                },
            )
            assert run_id is not None
            links = tuple(link_snapshot(r) for r in await conn.execute(q.LINKS, mine))  # type: ignore[arg-type]
            delta = (await conn.execute(q.DELTA_ROW, mine)).one_or_none()
            cached = await conn.execute(q.CACHE_THAT_MATTERS, mine)
            return CycleStart(
                tenant=tenant,
                user=user_record(taken),  # type: ignore[arg-type]  # a Row names the same
                lease=lease,
                run_id=run_id,
                previous_skips=frozenset(tuple(key) for key in taken.last_skip_keys or []),
                links=links,
                category_ready=taken.category_ready,
                delta=None if delta is None else delta_record(self.box, *delta),
                cached={row.event_id: cached_event(self.box, *row) for row in cached},
            )

    async def _take_over(self, conn: AsyncConnection, asked: dict[str, Any]) -> Any:
        """The lease its cycle never released, if it expired or its holder is gone; else
        why not (a `Refusal`). The runs it left open are closed as
        interrupted."""
        taken = (await conn.execute(q.TAKE_EXPIRED, asked)).one_or_none()
        if taken is None:
            row = (await conn.execute(q.REFUSED, asked)).one_or_none()
            if row is None:
                raise NotFound(f"no user {asked['uid']} in this store")
            if row.employee_id is None or not row.onboarded_at:
                return Refusal.NOT_ONBOARDED
            if not holder_gone(row.lease_holder):
                return Refusal.BUSY
            gone = {**asked, "gone": row.lease_holder, "gone_fence": row.lease_fence}
            taken = (await conn.execute(q.TAKE_FROM_GONE, gone)).one_or_none()
            if taken is None:
                return Refusal.BUSY  # taken meanwhile by another process
        await conn.execute(
            q.INTERRUPT_RUNS,
            {
                "tid": asked["tid"],
                "uid": asked["uid"],
                "new_fence": taken.lease_fence,
                "closed_at": asked["now"],
            },
        )
        return taken

    async def save_window(self, conn: AsyncConnection, user_id: int, window: WindowSave) -> None:
        """The window's cache rows and delta link, in the caller's fenced transaction."""
        mine: dict[str, Any] = {"tid": self.tenant_id, "uid": user_id}
        if window.rebaselined:
            await conn.execute(q.DROP_CACHE, mine)
        else:
            stale = stale_ids(window)
            if stale:
                await conn.execute(q.DROP_CACHED, {**mine, "ids": stale})
        if window.upserts:
            at = window.delta.baselined_at
            mine_at = {"tenant_id": self.tenant_id, "user_id": user_id, "updated_at": at}
            await conn.execute(
                q.ADD_CACHED, [{**mine_at, **row} for row in sealed_upserts(self.box, window)]
            )
        record = window.delta
        values = {
            "delta_link_enc": sealed_link(self.box, record),
            "window_start": record.window_start,
            "window_end": record.window_end,
            "baselined_at": record.baselined_at,
            "relevance_tag": record.relevance_tag,
        }
        saved = await conn.execute(
            q.SET_DELTA, {**mine, **{f"new_{name}": value for name, value in values.items()}}
        )
        if not saved.rowcount:
            await conn.execute(
                q.ADD_DELTA, {"tenant_id": self.tenant_id, "user_id": user_id, **values}
            )

    async def finish(self, lease: Lease, end: CycleEnd) -> None:
        mine = {"tid": self.tenant_id, "uid": lease.user_id}
        skip_keys = [list(key) for key in end.skip_keys]
        async with self.db.connection(self.tenant_id) as conn:
            released = await conn.execute(
                q.RELEASE,
                {
                    **mine,
                    "fence": lease.fence,
                    "next_run_at": end.next_run_at,
                    "finished_at": end.finished_at,
                    "outcome": end.outcome,
                    "status": end.status,
                    "error": end.error,
                    "skip_keys": skip_keys,
                    "resync_of": end.resync_of,
                },
            )
            if released.rowcount and end.window is not None:
                # Still ours (the row stays locked to the commit): the window goes with it.
                await self.save_window(conn, lease.user_id, end.window)
            if end.entries:
                run: dict[str, Any] = {"tenant_id": self.tenant_id, "user_id": lease.user_id}
                run |= {"run_id": end.run_id, "at": end.now}
                await conn.execute(q.LOG, [{**run, **activity_row(e)} for e in end.entries])
            await conn.execute(
                q.CLOSE_RUN,
                {
                    "tid": self.tenant_id,
                    "run_id": end.run_id,
                    "finished_at": end.finished_at,
                    "outcome": end.outcome,
                    "counts": dict(end.counts),
                    "graph_requests": dict(end.graph_requests),
                    "skip_keys": skip_keys,
                    "error": end.error,
                },
            )


class SqliteLinkRows:
    """`ports.LinkWrites` on SQLite: each row written at once in the caller's fenced
    transaction (`SqlCycleStore.link_writes`); which row a write names is
    `cycle_rows.replaced_row` / `deleted_row`, as on PostgreSQL."""

    def __init__(self, conn: AsyncConnection, tenant_id: int) -> None:
        self.conn, self.tenant_id = conn, tenant_id

    async def add(self, user_id: int, link: Link, now: datetime) -> None:
        mine = {"tenant_id": self.tenant_id, "user_id": user_id}
        await self.conn.execute(
            q.ADD_LINK, {**mine, **link_values(link), "created_at": now, "updated_at": now}
        )

    async def replace(self, user_id: int, old: Link, new: Link, now: datetime) -> None:
        column, key = replaced_row(old)
        values = {**link_values(new), "updated_at": now}
        done = await self.conn.execute(
            q.REPLACE_LINK[column],
            {
                "tid": self.tenant_id,
                "uid": user_id,
                "key": key,
                **{f"new_{name}": value for name, value in values.items()},
            },
        )
        if not done.rowcount:
            raise NotFound("mapping row vanished")

    async def delete(self, user_id: int, link: Link) -> None:
        column, key = deleted_row(link)
        await self.conn.execute(
            q.DELETE_LINK[column], {"tid": self.tenant_id, "uid": user_id, "key": key}
        )
