"""The CALENDAREVENT database as one cycle sees it: `SqlCycleStore` (ports.CycleStore).

The cycle is the hot path of a worker (issue 12: an idle cycle's CPU is the product's
throughput), and an idle cycle costs two transactions: `start` (tenant options, the
lease, the run row, the user's links, delta link and the cached events that can matter)
and `finish` (lease released, run row and activity written, the new delta link saved).
Every statement names the tenant (R22) and, on PostgreSQL, runs in a transaction bound
to it for row-level security.

The two paths live apart and share what goes into the rows (`store/cycle_rows.py`):
- SQLite, in process: SQLAlchemy Core statements (`store/cycles_sqlite.py`,
  `store/cycle_statements.py`);
- PostgreSQL: each phase, and each fenced write transaction of the cycle (link rows,
  the window), one statement calling a server-side function that binds itself to the
  store (`store/cycles_pg.py`, migrations 0008 and 0011; issue 25: one round trip
  each).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from s5sync.core.records import CachedEvent, Lease
from s5sync.store import cycle_statements as q
from s5sync.store.cycle_rows import cached_event
from s5sync.store.cycles_pg import LinkBatch, PgCycles
from s5sync.store.cycles_sqlite import SqliteCycles, SqliteLinkRows
from s5sync.store.database import Database
from s5sync.store.scope import check_fence
from s5sync.store.secrets import SecretBox
from s5sync.sync.ports import CycleEnd, CycleStart, LinkWrites, Refusal, WindowSave


class SqlCycleStore:
    """`ports.CycleStore` on the CALENDAREVENT database, for one tenant."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db, self.box, self.tenant_id = db, box, tenant_id
        self.sqlite = SqliteCycles(db, box, tenant_id)
        self.pg = None if db.is_sqlite else PgCycles(db, box, tenant_id)

    async def start(
        self, user_id: int, holder: str, now: datetime, ttl: timedelta
    ) -> CycleStart | Refusal:
        if self.pg is not None:
            return await self.pg.start(user_id, holder, now, ttl)
        return await self.sqlite.start(user_id, holder, now, ttl)

    async def cached(self, user_id: int, event_ids: Sequence[str] | None) -> dict[str, CachedEvent]:
        if event_ids is not None and not event_ids:
            return {}
        if self.pg is not None:
            return await self.pg.cached(user_id, event_ids)
        mine: dict[str, Any] = {"tid": self.tenant_id, "uid": user_id}
        query = q.CACHE_ALL
        if event_ids is not None:
            query, mine["ids"] = q.CACHE_BY_ID, list(event_ids)
        async with self.db.connection(self.tenant_id, write=False) as conn:
            rows = await conn.execute(query, mine)
            return {row.event_id: cached_event(self.box, *row) for row in rows}

    async def save_window(self, lease: Lease, window: WindowSave) -> None:
        if self.pg is not None:
            return await self.pg.write(lease, [], window)
        async with self.db.connection(self.tenant_id) as conn:
            await check_fence(conn, self.db, self.tenant_id, lease)
            await self.sqlite.save_window(conn, lease.user_id, window)

    async def mark_category_ready(self, lease: Lease, name: str) -> None:
        async with self.db.connection(self.tenant_id) as conn:
            await check_fence(conn, self.db, self.tenant_id, lease)
            await conn.execute(
                q.CATEGORY_READY, {"tid": self.tenant_id, "uid": lease.user_id, "name": name}
            )

    @asynccontextmanager
    async def link_writes(
        self, lease: Lease, window: WindowSave | None = None
    ) -> AsyncIterator[LinkWrites]:
        """One fenced transaction of link rows (R16), the window first when given: on
        PostgreSQL one statement when it ends (`LinkBatch`), on SQLite the rows as they
        come (`SqliteLinkRows`)."""
        if self.pg is not None:
            batch = LinkBatch(lease.user_id)
            yield batch
            await self.pg.write(lease, batch.ops, window)
            return
        async with self.db.connection(self.tenant_id) as conn:
            await check_fence(conn, self.db, self.tenant_id, lease)
            if window is not None:
                await self.sqlite.save_window(conn, lease.user_id, window)
            yield SqliteLinkRows(conn, self.tenant_id)

    async def finish(self, lease: Lease, end: CycleEnd) -> None:
        if self.pg is not None:
            return await self.pg.finish(lease, end)
        return await self.sqlite.finish(lease, end)
