"""A cycle's start, fenced writes and finish on PostgreSQL: one statement each (issue 25).

Each is one statement calling a server-side function (`s5sync_cycle_start`,
`s5sync_cycle_finish`, migrations 0008 and 0009; `s5sync_cycle_write` for link rows and
the window, `s5sync_cache_read`, migration 0011) that binds itself to the store (R22),
does what the SQLite statements do (`store/cycles_sqlite.py`) in the same order under
the same conditions, and is its own transaction (autocommit: no BEGIN, no COMMIT), run
on asyncpg alone (`Database.single_statement`, `store/statements.py`), which prepares
it once per connection. What goes into the rows is decided in `store/cycle_rows.py`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs

from s5sync.core.records import CachedEvent, DeltaRecord, Lease, TenantRecord
from s5sync.core.snapshots import Link, LinkState, Origin, StoreOptions
from s5sync.store import cycle_statements as q
from s5sync.store.cycle_rows import (
    activity_row,
    aware,
    cached_event,
    deleted_row,
    delta_record,
    link_values,
    moment,
    naive,
    replaced_row,
    sealed_link,
    sealed_upserts,
    stale_ids,
)
from s5sync.store.database import Database
from s5sync.store.directory import OPTION_NAMES, LeaseLost, NotFound, user_record
from s5sync.store.secrets import SecretBox
from s5sync.sync.holders import holder_gone
from s5sync.sync.ports import CycleEnd, CycleStart, Refusal, WindowSave

START = "SELECT s5sync_cycle_start($1, $2, $3, $4, $5)"
FINISH = (
    "SELECT s5sync_cycle_finish($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
    "$14, $15, $16, $17)"
)
WRITE = "SELECT s5sync_cycle_write($1, $2, $3, $4, $5, $6)"
CACHE_READ = "SELECT s5sync_cache_read($1, $2, $3)"


class PgCycles:
    """`start` and `finish` of `SqlCycleStore` on PostgreSQL."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db, self.box, self.tenant_id = db, box, tenant_id

    async def start(
        self, user_id: int, holder: str, now: datetime, ttl: timedelta
    ) -> CycleStart | Refusal:
        args = (START, self.tenant_id, user_id, holder, naive(now), ttl)
        got = await self.db.single_statement(*args)
        if got.get("refused") == "busy" and await self._release_if_gone(user_id, now):
            got = await self.db.single_statement(*args)
        refused = got.get("refused")
        if refused == "no_store":
            raise NotFound(f"store {self.tenant_id} no longer exists")
        if refused == "no_user":
            raise NotFound(f"no user {user_id} in this store")
        if refused is not None:
            return Refusal(refused)
        row, user = got["tenant"], got["user"]
        tenant = TenantRecord(
            row["id"],
            row["ms_tenant_id"],
            row["name"],
            StoreOptions(**{name: row[name] for name in OPTION_NAMES}),
        )
        taken = SimpleNamespace(
            **{
                name: aware(user[name]) if name in q.USER_MOMENTS else user[name]
                for name in q.USER_FIELDS
            }
        )
        return CycleStart(
            tenant=tenant,
            user=user_record(taken),  # type: ignore[arg-type]  # it names the same
            lease=Lease(user_id, holder, taken.lease_fence, moment(got["expires"])),
            run_id=got["run_id"],
            previous_skips=frozenset(tuple(key) for key in taken.last_skip_keys or []),
            links=tuple(
                Link(task, event, Origin(origin), LinkState(state), txn, th, eh, ck)
                for task, event, origin, state, txn, th, eh, ck in got["links"]
            ),
            category_ready=taken.category_ready,
            delta=self._delta(got["delta"]),
            cached=self._cached(got["cached"]),
        )

    def _cached(self, rows: list[list[Any]]) -> dict[str, CachedEvent]:
        return {row[0]: cached_event(self.box, *row) for row in rows}

    def _delta(self, row: list[Any] | None) -> DeltaRecord | None:
        if row is None:
            return None
        link, start, end, baselined, tag = row
        stored = link.encode() if link is not None else None
        return delta_record(self.box, stored, moment(start), moment(end), moment(baselined), tag)

    async def _release_if_gone(self, user_id: int, now: datetime) -> bool:
        """A lease held by a process of this host that is gone is made expired
        (sync/holders.py), so the start function takes it over and closes its runs
        (migration 0009). Only on a busy answer: never on the every-cycle path."""
        mine = {"tid": self.tenant_id, "uid": user_id}
        async with self.db.connection(self.tenant_id) as conn:
            row = (await conn.execute(q.REFUSED, mine)).one_or_none()
            if row is None or not holder_gone(row.lease_holder):
                return False
            expired = await conn.execute(
                q.EXPIRE_GONE,
                {
                    **mine,
                    "gone": row.lease_holder,
                    "gone_fence": row.lease_fence,
                    "expired_at": now - timedelta(seconds=1),
                },
            )
            return bool(expired.rowcount)

    async def write(
        self, lease: Lease, links: list[dict[str, Any]], window: WindowSave | None
    ) -> None:
        """One fenced transaction (R16) in one statement (migration 0011): the window,
        when given, then the link rows in order; all of it or none."""
        saved, sealed = (None, None) if window is None else self.window_json(window)
        try:
            fence = await self.db.single_statement(
                WRITE, self.tenant_id, lease.user_id, lease.fence, json.dumps(links), saved, sealed
            )
        except asyncpg.NoDataFoundError:
            raise NotFound("mapping row vanished") from None
        if fence != lease.fence:
            raise LeaseLost(f"user {lease.user_id}: lease {lease.fence} superseded by {fence}")

    async def cached(self, user_id: int, event_ids: Sequence[str] | None) -> dict[str, CachedEvent]:
        ids = None if event_ids is None else list(event_ids)
        rows = await self.db.single_statement(CACHE_READ, self.tenant_id, user_id, ids)
        return self._cached(rows)

    def window_json(self, window: WindowSave) -> tuple[str, bytes | None]:
        """The window as the functions take it: JSON, and the sealed delta link apart."""
        record = window.delta
        saved = {
            "rebaselined": window.rebaselined,
            "stale": [] if window.rebaselined else stale_ids(window),
            "upserts": sealed_upserts(self.box, window),
            "window_start": naive(record.window_start).isoformat(),
            "window_end": naive(record.window_end).isoformat(),
            "baselined_at": naive(record.baselined_at).isoformat(),
            "relevance_tag": record.relevance_tag,
        }
        return json.dumps(saved), sealed_link(self.box, record)

    async def finish(self, lease: Lease, end: CycleEnd) -> None:
        """The window is saved only while the fence is ours, as on SQLite."""
        window, sealed = None, None
        if end.window is not None:
            window, sealed = self.window_json(end.window)
        await self.db.single_statement(
            FINISH,
            self.tenant_id,
            lease.user_id,
            lease.fence,
            end.run_id,
            naive(end.now),
            naive(end.finished_at),
            naive(end.next_run_at),
            end.outcome,
            end.status,
            end.error,
            json.dumps([list(key) for key in end.skip_keys]),
            json.dumps(dict(end.counts)),
            json.dumps(dict(end.graph_requests)),
            json.dumps([activity_row(e) for e in end.entries]),
            window,
            sealed,
            None if end.resync_of is None else naive(end.resync_of),
        )


class LinkBatch:
    """`ports.LinkWrites` on PostgreSQL: the rows of one fenced transaction collected,
    then written by `PgCycles.write` in one statement when the transaction ends (issue
    25); a transaction left by an exception writes nothing. Which row a write names is
    `cycle_rows.replaced_row` / `deleted_row`, as on SQLite."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.ops: list[dict[str, Any]] = []

    def _mine(self, user_id: int) -> None:
        if user_id != self.user_id:  # R16: the lease fences one user's rows
            raise ValueError(f"user {user_id}'s link written under user {self.user_id}'s lease")

    async def add(self, user_id: int, link: Link, now: datetime) -> None:
        self._mine(user_id)
        self.ops.append({"op": "add", **link_values(link), "at": naive(now).isoformat()})

    async def replace(self, user_id: int, old: Link, new: Link, now: datetime) -> None:
        self._mine(user_id)
        by, key = replaced_row(old)
        at = naive(now).isoformat()
        self.ops.append(
            {"op": "replace", "by": by, "key": _text(key), **link_values(new), "at": at}
        )

    async def delete(self, user_id: int, link: Link) -> None:
        self._mine(user_id)
        by, key = deleted_row(link)
        self.ops.append({"op": "delete", "by": by, "key": _text(key)})


def _text(key: int | str | None) -> str | None:
    """A row's key as the function compares it (text: one parameter for three columns)."""
    return None if key is None else str(key)
