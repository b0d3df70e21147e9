"""The CALENDAREVENT database as one cycle sees it: `SqlCycleStore` (ports.CycleStore).

The cycle is the hot path of a worker (issue 12: an idle cycle's CPU is the product's
throughput), so this store speaks SQLAlchemy Core on one connection per transaction —
no ORM session, no identity map — and an idle cycle costs two transactions: `start`
(tenant options, the lease, the run row, the user's links, delta link and the cached
events that can matter) and `finish` (lease released, run row and activity written, the
new delta link saved). Every statement names the tenant (R22) and, on PostgreSQL, runs
in a transaction bound to it for row-level security.

On PostgreSQL each of the two is one round trip (issue 25): one statement calling a
server-side function (`s5sync_cycle_start`, `s5sync_cycle_finish`, migration 0008) that
binds itself to the store, does what the SQLite statements below do in the same order
under the same conditions, and is its own transaction (autocommit: no BEGIN, no
COMMIT). asyncpg prepares each once per connection (its statement cache). SQLite, in
process, keeps the statements.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    bindparam,
    case,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from s5sync.core.records import (
    INTERRUPTED,
    INTERRUPTED_ERROR,
    ActivityEntry,
    CachedEvent,
    DeltaRecord,
    Lease,
    TenantRecord,
)
from s5sync.core.snapshots import Link, LinkState, Origin, StoreOptions
from s5sync.store.database import Database
from s5sync.store.directory import OPTION_NAMES, NotFound, tenant_record, user_record
from s5sync.store.models import (
    Activity,
    AppUser,
    DeltaState,
    EventCache,
    EventLink,
    SyncRun,
    Tenant,
)
from s5sync.store.repositories import link_snapshot
from s5sync.store.scope import TenantScope, check_fence
from s5sync.store.sealed import open_event_data, seal_event_data
from s5sync.store.secrets import SecretBox
from s5sync.store.types import UTCDateTime
from s5sync.sync.holders import holder_gone
from s5sync.sync.ports import CycleEnd, CycleStart, LinkWrites, Refusal, WindowSave

_TENANT = (Tenant.id, Tenant.ms_tenant_id, Tenant.name, *(getattr(Tenant, n) for n in OPTION_NAMES))
_USER = (
    AppUser.id,
    AppUser.tenant_id,
    AppUser.object_id,
    AppUser.email,
    AppUser.display_name,
    AppUser.employee_id,
    AppUser.onboarded_at,
    AppUser.is_admin,
    AppUser.status,
    AppUser.last_error,
    AppUser.last_heartbeat_at,
    AppUser.next_run_at,
    AppUser.last_run_at,
    AppUser.last_outcome,
    AppUser.sync_now_requested,
    AppUser.token_cache_enc.is_not(None).label("has_token_cache"),
    AppUser.session_generation,
    AppUser.category_ready,
    AppUser.lease_fence,
    AppUser.last_skip_keys,
    AppUser.push_live_until,  # R14b: the safety-net interval while push is live
    AppUser.resync_requested_at,  # R14c: this cycle is a resync (issue 21 item 2)
    AppUser.resync_requested_by,
)
_LINK = (
    EventLink.task_id,
    EventLink.event_id,
    EventLink.origin,
    EventLink.state,
    EventLink.transaction_id,
    EventLink.task_hash,
    EventLink.event_hash,
    EventLink.change_key,
)
_CACHE = (
    EventCache.event_id,
    EventCache.data,
    EventCache.change_key,
    EventCache.server_hash,
    EventCache.relevant,
)
_DELTA = (
    DeltaState.delta_link_enc,
    DeltaState.window_start,
    DeltaState.window_end,
    DeltaState.baselined_at,
    DeltaState.relevance_tag,
)


_DELTA_VALUES = ("delta_link_enc", "window_start", "window_end", "baselined_at", "relevance_tag")

# The statements are built once: building SQLAlchemy constructs costs more CPU than
# running them (issue 12), and a built statement keeps its cache key.
_tid: BindParameter[int] = bindparam("tid", type_=Integer)
_uid: BindParameter[int] = bindparam("uid", type_=Integer)
_MINE_CACHE = (EventCache.tenant_id == _tid, EventCache.user_id == _uid)
_MINE_DELTA = (DeltaState.tenant_id == _tid, DeltaState.user_id == _uid)
_GET_TENANT = select(*_TENANT).where(Tenant.id == _tid)
_ONBOARDED = (
    AppUser.tenant_id == _tid,
    AppUser.id == _uid,
    AppUser.employee_id.is_not(None),
    AppUser.onboarded_at.is_not(None),
)
_TAKEN = {
    "lease_holder": bindparam("holder"),
    "lease_fence": AppUser.lease_fence + 1,
    "lease_expires_at": bindparam("expires"),
    "sync_now_requested": False,
}
# A lease released by its cycle (the every-cycle path: one statement).
_TAKE_LEASE = (
    update(AppUser)
    .where(*_ONBOARDED, AppUser.lease_expires_at.is_(None))
    .values(_TAKEN)
    .returning(*_USER)
)
# A lease its cycle never released (killed, or its process lost): expired, or held by a
# process of this host that is gone (sync/holders.py, issue 23) — then its run is closed.
_TAKE_EXPIRED = (
    update(AppUser)
    .where(*_ONBOARDED, AppUser.lease_expires_at < bindparam("now"))
    .values(_TAKEN)
    .returning(*_USER)
)
_TAKE_FROM_GONE = (
    update(AppUser)
    .where(
        *_ONBOARDED,
        AppUser.lease_holder == bindparam("gone"),
        AppUser.lease_fence == bindparam("gone_fence"),
    )
    .values(_TAKEN)
    .returning(*_USER)
)
_EXPIRE_GONE = (
    update(AppUser)
    .where(
        AppUser.tenant_id == _tid,
        AppUser.id == _uid,
        AppUser.lease_holder == bindparam("gone"),
        AppUser.lease_fence == bindparam("gone_fence"),
    )
    .values(lease_expires_at=bindparam("expired_at"))
)
_REFUSED = select(
    AppUser.employee_id, AppUser.onboarded_at, AppUser.lease_holder, AppUser.lease_fence
).where(AppUser.tenant_id == _tid, AppUser.id == _uid)
# Runs of the user left open by cycles that never finished (issue 23 item 6, R18).
_INTERRUPT_RUNS = (
    update(SyncRun)
    .where(
        SyncRun.tenant_id == _tid,
        SyncRun.user_id == _uid,
        SyncRun.finished_at.is_(None),
        SyncRun.fence < bindparam("new_fence"),
    )
    .values(finished_at=bindparam("closed_at"), outcome=INTERRUPTED, error=INTERRUPTED_ERROR)
)
_OPEN_RUN = insert(SyncRun).returning(SyncRun.id)
_LINKS = (
    select(*_LINK)
    .where(EventLink.tenant_id == _tid, EventLink.user_id == _uid)
    .order_by(EventLink.id)
)
_DELTA_ROW = select(*_DELTA).where(*_MINE_DELTA)
_LINKED = exists().where(
    EventLink.tenant_id == EventCache.tenant_id,
    EventLink.user_id == EventCache.user_id,
    EventLink.event_id == EventCache.event_id,
)
_CACHE_THAT_MATTERS = select(*_CACHE).where(*_MINE_CACHE, or_(EventCache.relevant, _LINKED))
_CACHE_ALL = select(*_CACHE).where(*_MINE_CACHE)
_CACHE_BY_ID = _CACHE_ALL.where(EventCache.event_id.in_(bindparam("ids", expanding=True)))
_DROP_CACHE = delete(EventCache).where(*_MINE_CACHE)
_DROP_CACHED = _DROP_CACHE.where(EventCache.event_id.in_(bindparam("ids", expanding=True)))
_ADD_CACHED = insert(EventCache)
_SET_DELTA = (
    update(DeltaState)
    .where(*_MINE_DELTA)
    .values({column: bindparam(f"new_{column}") for column in _DELTA_VALUES})
)
_ADD_DELTA = insert(DeltaState)
_CATEGORY_READY = (
    update(AppUser)
    .where(AppUser.tenant_id == _tid, AppUser.id == _uid)
    .values(category_ready=bindparam("name"))
)
_resync_of: BindParameter[datetime] = bindparam("resync_of", type_=UTCDateTime())
_RELEASE = (
    update(AppUser)
    .where(
        AppUser.tenant_id == _tid,
        AppUser.id == _uid,
        AppUser.lease_fence == bindparam("fence"),
    )
    .values(
        lease_holder=None,
        lease_expires_at=None,
        next_run_at=bindparam("next_run_at"),
        last_run_at=bindparam("finished_at"),
        last_outcome=bindparam("outcome"),
        status=bindparam("status"),
        last_error=bindparam("error"),
        last_skip_keys=bindparam("skip_keys"),
        # R14c: a finished resync clears its request — not one made while it ran.
        resync_requested_at=case(
            (AppUser.resync_requested_at <= _resync_of, None),
            else_=AppUser.resync_requested_at,
        ),
        resync_requested_by=case(
            (AppUser.resync_requested_at <= _resync_of, None),
            else_=AppUser.resync_requested_by,
        ),
    )
)
_LOG = insert(Activity)
_CLOSE_RUN = (
    update(SyncRun)
    .where(SyncRun.tenant_id == _tid, SyncRun.id == bindparam("run_id"))
    .values(
        finished_at=bindparam("finished_at"),
        outcome=bindparam("outcome"),
        counts=bindparam("counts"),
        graph_requests=bindparam("graph_requests"),
        skip_keys=bindparam("skip_keys"),
        error=bindparam("error"),
    )
)


# PostgreSQL: one statement per phase (migration 0008).
_PG_START = "SELECT s5sync_cycle_start($1, $2, $3, $4, $5)"
_PG_FINISH = (
    "SELECT s5sync_cycle_finish($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
    "$14, $15, $16, $17)"
)
# The user's columns the SQLite path reads with the lease (`_USER`), by name.
_USER_FIELDS = tuple(str(column.key) for column in _USER)
_USER_MOMENTS = frozenset(str(c.key) for c in _USER if isinstance(c.type, UTCDateTime))


def _naive(moment: datetime) -> datetime:
    """An aware datetime as the naive UTC a `timestamp` column holds (store/types.py)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(value: str | None) -> datetime | None:
    """A `timestamp` as PostgreSQL's JSON writes it (ISO 8601, UTC) as an aware datetime."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _cached(box: SecretBox, row: Any) -> CachedEvent:
    data = open_event_data(box, row.data)  # subject and body sealed (sealed.py)
    return CachedEvent(row.event_id, data, row.change_key, row.server_hash, row.relevant)


class SqlCycleStore:
    """`ports.CycleStore` on the CALENDAREVENT database, for one tenant."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db, self.box, self.tenant_id = db, box, tenant_id
        self.scope = TenantScope(db, box, tenant_id)

    async def start(
        self, user_id: int, holder: str, now: datetime, ttl: timedelta
    ) -> CycleStart | Refusal:
        if not self.db.is_sqlite:
            return await self._start_in_one(user_id, holder, now, ttl)
        mine = {"tid": self.tenant_id, "uid": user_id}
        async with self.db.connection(self.tenant_id) as conn:
            row = (await conn.execute(_GET_TENANT, mine)).one_or_none()
            if row is None:
                raise NotFound(f"store {self.tenant_id} no longer exists")
            tenant = tenant_record(row)  # type: ignore[arg-type]  # a Row has the attributes
            # The lease lasts less than the interval, so a lost worker delays one cycle.
            expires = now + min(ttl, timedelta(minutes=tenant.options.interval_minutes) * 0.9)
            asked = {**mine, "now": now, "holder": holder, "expires": expires}
            taken = (await conn.execute(_TAKE_LEASE, asked)).one_or_none()
            if taken is None:
                taken = await self._take_over(conn, asked)
                if isinstance(taken, Refusal):
                    return taken
            lease = Lease(user_id, holder, taken.lease_fence, expires)
            run_id = await conn.scalar(
                _OPEN_RUN,
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
            links = tuple(link_snapshot(r) for r in await conn.execute(_LINKS, mine))  # type: ignore[arg-type]
            delta = (await conn.execute(_DELTA_ROW, mine)).one_or_none()
            cached = await conn.execute(_CACHE_THAT_MATTERS, mine)
            return CycleStart(
                tenant=tenant,
                user=user_record(taken),  # type: ignore[arg-type]  # a Row names the same
                lease=lease,
                run_id=run_id,
                previous_skips=frozenset(tuple(key) for key in taken.last_skip_keys or []),
                links=links,
                category_ready=taken.category_ready,
                delta=self._delta(delta),
                cached={row.event_id: _cached(self.box, row) for row in cached},
            )

    async def _start_in_one(
        self, user_id: int, holder: str, now: datetime, ttl: timedelta
    ) -> CycleStart | Refusal:
        """`start` on PostgreSQL: one statement, one round trip (migration 0008)."""
        args = (_PG_START, self.tenant_id, user_id, holder, _naive(now), ttl)
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
                name: _aware(user[name]) if name in _USER_MOMENTS else user[name]
                for name in _USER_FIELDS
            }
        )
        expires = _moment(got["expires"])
        return CycleStart(
            tenant=tenant,
            user=user_record(taken),  # type: ignore[arg-type]  # it names the same
            lease=Lease(user_id, holder, taken.lease_fence, expires),
            run_id=got["run_id"],
            previous_skips=frozenset(tuple(key) for key in taken.last_skip_keys or []),
            links=tuple(
                Link(task, event, Origin(origin), LinkState(state), txn, th, eh, ck)
                for task, event, origin, state, txn, th, eh, ck in got["links"]
            ),
            category_ready=taken.category_ready,
            delta=self._pg_delta(got["delta"]),
            cached={
                event_id: CachedEvent(
                    event_id, open_event_data(self.box, data), change_key, server_hash, relevant
                )
                for event_id, data, change_key, server_hash, relevant in got["cached"]
            },
        )

    async def _release_if_gone(self, user_id: int, now: datetime) -> bool:
        """PostgreSQL: a lease held by a process of this host that is gone is made expired
        (sync/holders.py), so the start function takes it over and closes its runs
        (migration 0009). Only on a busy answer: never on the every-cycle path."""
        mine = {"tid": self.tenant_id, "uid": user_id}
        async with self.db.connection(self.tenant_id) as conn:
            row = (await conn.execute(_REFUSED, mine)).one_or_none()
            if row is None or not holder_gone(row.lease_holder):
                return False
            expired = await conn.execute(
                _EXPIRE_GONE,
                {
                    **mine,
                    "gone": row.lease_holder,
                    "gone_fence": row.lease_fence,
                    "expired_at": now - timedelta(seconds=1),
                },
            )
            return bool(expired.rowcount)

    def _pg_delta(self, row: list[Any] | None) -> DeltaRecord | None:
        if row is None:
            return None
        link, start, end, baselined, tag = row
        opened = self.box.open(link.encode()) if link is not None else None
        return DeltaRecord(opened, _moment(start), _moment(end), _moment(baselined), tag)

    async def _take_over(self, conn: AsyncConnection, asked: dict[str, Any]) -> Any:
        """The lease its cycle never released, if it expired or its holder is gone; else
        why not (a `Refusal`). The runs it left open are closed as
        interrupted."""
        taken = (await conn.execute(_TAKE_EXPIRED, asked)).one_or_none()
        if taken is None:
            row = (await conn.execute(_REFUSED, asked)).one_or_none()
            if row is None:
                raise NotFound(f"no user {asked['uid']} in this store")
            if row.employee_id is None or not row.onboarded_at:
                return Refusal.NOT_ONBOARDED
            if not holder_gone(row.lease_holder):
                return Refusal.BUSY
            gone = {**asked, "gone": row.lease_holder, "gone_fence": row.lease_fence}
            taken = (await conn.execute(_TAKE_FROM_GONE, gone)).one_or_none()
            if taken is None:
                return Refusal.BUSY  # taken meanwhile by another process
        await conn.execute(
            _INTERRUPT_RUNS,
            {
                "tid": asked["tid"],
                "uid": asked["uid"],
                "new_fence": taken.lease_fence,
                "closed_at": asked["now"],
            },
        )
        return taken

    def _delta(self, row: Any) -> DeltaRecord | None:
        if row is None:
            return None
        link = self.box.open(row.delta_link_enc) if row.delta_link_enc is not None else None
        return DeltaRecord(
            link, row.window_start, row.window_end, row.baselined_at, row.relevance_tag
        )

    async def cached(self, user_id: int, event_ids: Sequence[str] | None) -> dict[str, CachedEvent]:
        if event_ids is not None and not event_ids:
            return {}
        mine: dict[str, Any] = {"tid": self.tenant_id, "uid": user_id}
        query = _CACHE_ALL
        if event_ids is not None:
            query, mine["ids"] = _CACHE_BY_ID, list(event_ids)
        async with self.db.connection(self.tenant_id, write=False) as conn:
            rows = await conn.execute(query, mine)
            return {row.event_id: _cached(self.box, row) for row in rows}

    async def save_window(self, lease: Lease, window: WindowSave) -> None:
        async with self.db.connection(self.tenant_id) as conn:
            await check_fence(conn, self.db, self.tenant_id, lease)
            await self._save_window(conn, lease.user_id, window)

    async def _save_window(self, conn: AsyncConnection, user_id: int, window: WindowSave) -> None:
        mine: dict[str, Any] = {"tid": self.tenant_id, "uid": user_id}
        if window.rebaselined:
            await conn.execute(_DROP_CACHE, mine)
        else:
            stale = sorted({*window.removed, *(item.event_id for item in window.upserts)})
            if stale:
                await conn.execute(_DROP_CACHED, {**mine, "ids": stale})
        if window.upserts:
            at = window.delta.baselined_at
            await conn.execute(
                _ADD_CACHED,
                [
                    {
                        "tenant_id": self.tenant_id,
                        "user_id": user_id,
                        "event_id": item.event_id,
                        "data": seal_event_data(self.box, item.data),
                        "change_key": item.change_key,
                        "server_hash": item.server_hash,
                        "relevant": item.relevant,
                        "updated_at": at,
                    }
                    for item in window.upserts
                ],
            )
        record = window.delta
        values = {
            "delta_link_enc": self.box.seal(record.delta_link)
            if record.delta_link is not None
            else None,
            "window_start": record.window_start,
            "window_end": record.window_end,
            "baselined_at": record.baselined_at,
            "relevance_tag": record.relevance_tag,
        }
        saved = await conn.execute(
            _SET_DELTA, {**mine, **{f"new_{name}": value for name, value in values.items()}}
        )
        if not saved.rowcount:
            await conn.execute(
                _ADD_DELTA, {"tenant_id": self.tenant_id, "user_id": user_id, **values}
            )

    async def mark_category_ready(self, lease: Lease, name: str) -> None:
        async with self.db.connection(self.tenant_id) as conn:
            await check_fence(conn, self.db, self.tenant_id, lease)
            await conn.execute(
                _CATEGORY_READY, {"tid": self.tenant_id, "uid": lease.user_id, "name": name}
            )

    @asynccontextmanager
    async def link_writes(self, lease: Lease) -> AsyncIterator[LinkWrites]:
        async with self.scope.begin(lease=lease) as unit:
            yield unit.links

    async def finish(self, lease: Lease, end: CycleEnd) -> None:
        if not self.db.is_sqlite:
            return await self._finish_in_one(lease, end)
        mine = {"tid": self.tenant_id, "uid": lease.user_id}
        async with self.db.connection(self.tenant_id) as conn:
            released = await conn.execute(
                _RELEASE,
                {
                    **mine,
                    "fence": lease.fence,
                    "next_run_at": end.next_run_at,
                    "finished_at": end.finished_at,
                    "outcome": end.outcome,
                    "status": end.status,
                    "error": end.error,
                    "skip_keys": [list(key) for key in end.skip_keys],
                    "resync_of": end.resync_of,
                },
            )
            if released.rowcount and end.window is not None:
                # Still ours (the row stays locked to the commit): the window goes with it.
                await self._save_window(conn, lease.user_id, end.window)
            if end.entries:
                await conn.execute(
                    _LOG,
                    [
                        {
                            "tenant_id": self.tenant_id,
                            "user_id": lease.user_id,
                            "run_id": end.run_id,
                            "at": end.now,
                            **_activity_row(e),
                        }
                        for e in end.entries
                    ],
                )
            await conn.execute(
                _CLOSE_RUN,
                {
                    "tid": self.tenant_id,
                    "run_id": end.run_id,
                    "finished_at": end.finished_at,
                    "outcome": end.outcome,
                    "counts": dict(end.counts),
                    "graph_requests": dict(end.graph_requests),
                    "skip_keys": [list(key) for key in end.skip_keys],
                    "error": end.error,
                },
            )

    async def _finish_in_one(self, lease: Lease, end: CycleEnd) -> None:
        """`finish` on PostgreSQL: one statement, one round trip (migration 0008); the
        window is saved only while the fence is ours, as on SQLite."""
        window, sealed = None, None
        if end.window is not None:
            saved, record = end.window, end.window.delta
            if record.delta_link is not None:
                sealed = self.box.seal(record.delta_link)
            window = json.dumps(
                {
                    "rebaselined": saved.rebaselined,
                    "stale": []
                    if saved.rebaselined
                    else sorted({*saved.removed, *(item.event_id for item in saved.upserts)}),
                    "upserts": [
                        {
                            "event_id": item.event_id,
                            "data": seal_event_data(self.box, item.data),
                            "change_key": item.change_key,
                            "server_hash": item.server_hash,
                            "relevant": item.relevant,
                        }
                        for item in saved.upserts
                    ],
                    "window_start": _naive(record.window_start).isoformat(),
                    "window_end": _naive(record.window_end).isoformat(),
                    "baselined_at": _naive(record.baselined_at).isoformat(),
                    "relevance_tag": record.relevance_tag,
                }
            )
        skip_keys = json.dumps([list(key) for key in end.skip_keys])
        entries = [_activity_row(e) for e in end.entries]
        await self.db.single_statement(
            _PG_FINISH,
            self.tenant_id,
            lease.user_id,
            lease.fence,
            end.run_id,
            _naive(end.now),
            _naive(end.finished_at),
            _naive(end.next_run_at),
            end.outcome,
            end.status,
            end.error,
            skip_keys,
            json.dumps(dict(end.counts)),
            json.dumps(dict(end.graph_requests)),
            json.dumps(entries),
            window,
            sealed,
            None if end.resync_of is None else _naive(end.resync_of),
        )


def _activity_row(e: ActivityEntry) -> dict[str, Any]:
    """An activity line's columns as both paths write them (R18): the subject is kept to
    its first 120 characters."""
    return {
        "direction": e.direction,
        "action": e.action,
        "reason": e.reason,
        "task_id": e.task_id,
        "event_id": e.event_id,
        "subject": e.subject[:120],
        "message": e.message,
    }
