"""The cycle's SQLAlchemy Core statements, built once (issue 12): building a construct
costs more CPU than running it, and a built statement keeps its cache key.

SQLite runs them all (`store/cycles_sqlite.py`); PostgreSQL runs its cycle as
server-side functions (`store/cycles_pg.py`) and uses only the rare ones here (a lease
whose holder is gone, R16) and the reads beside the cycle (`store/cycles.py`). Every
statement names the tenant (R22).
"""

from __future__ import annotations

from datetime import datetime
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

from s5sync.core.records import INTERRUPTED, INTERRUPTED_ERROR
from s5sync.store.directory import OPTION_NAMES
from s5sync.store.models import (
    Activity,
    AppUser,
    DeltaState,
    EventCache,
    EventLink,
    SyncRun,
    Tenant,
)
from s5sync.store.types import UTCDateTime

TENANT = (Tenant.id, Tenant.ms_tenant_id, Tenant.name, *(getattr(Tenant, n) for n in OPTION_NAMES))
USER = (
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
LINK = (
    EventLink.task_id,
    EventLink.event_id,
    EventLink.origin,
    EventLink.state,
    EventLink.transaction_id,
    EventLink.task_hash,
    EventLink.event_hash,
    EventLink.change_key,
)
CACHE = (
    EventCache.event_id,
    EventCache.data,
    EventCache.change_key,
    EventCache.server_hash,
    EventCache.relevant,
)
DELTA = (
    DeltaState.delta_link_enc,
    DeltaState.window_start,
    DeltaState.window_end,
    DeltaState.baselined_at,
    DeltaState.relevance_tag,
)

DELTA_VALUES = ("delta_link_enc", "window_start", "window_end", "baselined_at", "relevance_tag")

LINK_VALUES = (
    "task_id",
    "event_id",
    "origin",
    "state",
    "transaction_id",
    "task_hash",
    "event_hash",
    "change_key",
    "updated_at",
)
_tid: BindParameter[int] = bindparam("tid", type_=Integer)
_uid: BindParameter[int] = bindparam("uid", type_=Integer)
MINE_CACHE = (EventCache.tenant_id == _tid, EventCache.user_id == _uid)
MINE_DELTA = (DeltaState.tenant_id == _tid, DeltaState.user_id == _uid)
GET_TENANT = select(*TENANT).where(Tenant.id == _tid)
ONBOARDED = (
    AppUser.tenant_id == _tid,
    AppUser.id == _uid,
    AppUser.employee_id.is_not(None),
    AppUser.onboarded_at.is_not(None),
)
TAKEN = {
    "lease_holder": bindparam("holder"),
    "lease_fence": AppUser.lease_fence + 1,
    "lease_expires_at": bindparam("expires"),
    "sync_now_requested": False,
}
# A lease released by its cycle (the every-cycle path: one statement).
TAKE_LEASE = (
    update(AppUser)
    .where(*ONBOARDED, AppUser.lease_expires_at.is_(None))
    .values(TAKEN)
    .returning(*USER)
)
# A lease its cycle never released (killed, or its process lost): expired, or held by a
# process of this host that is gone (sync/holders.py, issue 23) — then its run is closed.
TAKE_EXPIRED = (
    update(AppUser)
    .where(*ONBOARDED, AppUser.lease_expires_at < bindparam("now"))
    .values(TAKEN)
    .returning(*USER)
)
TAKE_FROM_GONE = (
    update(AppUser)
    .where(
        *ONBOARDED,
        AppUser.lease_holder == bindparam("gone"),
        AppUser.lease_fence == bindparam("gone_fence"),
    )
    .values(TAKEN)
    .returning(*USER)
)
EXPIRE_GONE = (
    update(AppUser)
    .where(
        AppUser.tenant_id == _tid,
        AppUser.id == _uid,
        AppUser.lease_holder == bindparam("gone"),
        AppUser.lease_fence == bindparam("gone_fence"),
    )
    .values(lease_expires_at=bindparam("expired_at"))
)
REFUSED = select(
    AppUser.employee_id, AppUser.onboarded_at, AppUser.lease_holder, AppUser.lease_fence
).where(AppUser.tenant_id == _tid, AppUser.id == _uid)
# Runs of the user left open by cycles that never finished (issue 23 item 6, R18).
INTERRUPT_RUNS = (
    update(SyncRun)
    .where(
        SyncRun.tenant_id == _tid,
        SyncRun.user_id == _uid,
        SyncRun.finished_at.is_(None),
        SyncRun.fence < bindparam("new_fence"),
    )
    .values(finished_at=bindparam("closed_at"), outcome=INTERRUPTED, error=INTERRUPTED_ERROR)
)
OPEN_RUN = insert(SyncRun).returning(SyncRun.id)
LINKS = (
    select(*LINK)
    .where(EventLink.tenant_id == _tid, EventLink.user_id == _uid)
    .order_by(EventLink.id)
)
DELTA_ROW = select(*DELTA).where(*MINE_DELTA)
LINKED = exists().where(
    EventLink.tenant_id == EventCache.tenant_id,
    EventLink.user_id == EventCache.user_id,
    EventLink.event_id == EventCache.event_id,
)
CACHE_THAT_MATTERS = select(*CACHE).where(*MINE_CACHE, or_(EventCache.relevant, LINKED))
CACHE_ALL = select(*CACHE).where(*MINE_CACHE)
CACHE_BY_ID = CACHE_ALL.where(EventCache.event_id.in_(bindparam("ids", expanding=True)))
DROP_CACHE = delete(EventCache).where(*MINE_CACHE)
DROP_CACHED = DROP_CACHE.where(EventCache.event_id.in_(bindparam("ids", expanding=True)))
ADD_CACHED = insert(EventCache)
SET_DELTA = (
    update(DeltaState)
    .where(*MINE_DELTA)
    .values({column: bindparam(f"new_{column}") for column in DELTA_VALUES})
)
ADD_DELTA = insert(DeltaState)
CATEGORY_READY = (
    update(AppUser)
    .where(AppUser.tenant_id == _tid, AppUser.id == _uid)
    .values(category_ready=bindparam("name"))
)
_resync_of: BindParameter[datetime] = bindparam("resync_of", type_=UTCDateTime())
RELEASE = (
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
LOG = insert(Activity)
CLOSE_RUN = (
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

# Link rows (R16): the row a write names, by one of three columns (`cycle_rows.replaced_row`).
_key: BindParameter[Any] = bindparam("key")
_MINE_LINK = (EventLink.tenant_id == _tid, EventLink.user_id == _uid)
ADD_LINK = insert(EventLink)
LINK_BY = {
    "task_id": EventLink.task_id.is_not_distinct_from(_key),
    "event_id": EventLink.event_id.is_not_distinct_from(_key),
    "transaction_id": EventLink.transaction_id.is_not_distinct_from(_key),
}
REPLACE_LINK = {
    column: update(EventLink)
    .where(
        EventLink.id
        == select(EventLink.id)
        .where(*_MINE_LINK, by)
        .order_by(EventLink.id)
        .limit(1)
        .scalar_subquery()
    )
    .values({name: bindparam(f"new_{name}") for name in LINK_VALUES})
    for column, by in LINK_BY.items()
}
DELETE_LINK = {column: delete(EventLink).where(*_MINE_LINK, by) for column, by in LINK_BY.items()}

# The user's columns read with the lease (`USER`), by name: PostgreSQL's JSON names them.
USER_FIELDS = tuple(str(column.key) for column in USER)
USER_MOMENTS = frozenset(str(c.key) for c in USER if isinstance(c.type, UTCDateTime))
