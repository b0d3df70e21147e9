"""An in-memory CALENDAREVENT database for cycles: `MemoryCycleStores` (ports.CycleStore).

It keeps what `SqlCycleStore` keeps — leases with fencing tokens, the mapping rows with
their two unique keys (R16), the window cache and delta link, run rows and activity — in
dicts, with the same refusals (`LeaseLost`, a second link for a task or event). A link
transaction is applied whole or not at all. The contract suite in
`tests/contract/store/test_cycle_store_contract.py` runs it beside SQLite and PostgreSQL.

It is what "the engine alone" means in `s5sync bench`: the cycle's own CPU with every
outside system in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from s5sync.core.records import (
    INTERRUPTED,
    INTERRUPTED_ERROR,
    ActivityEntry,
    CachedEvent,
    DeltaRecord,
    Lease,
    TenantRecord,
    UserRecord,
)
from s5sync.core.snapshots import Link, StoreOptions
from s5sync.store.directory import LeaseLost, NotFound
from s5sync.sync.holders import holder_gone
from s5sync.sync.ports import CycleEnd, CycleStart, Refusal, WindowSave


class DuplicateLink(Exception):
    """A second mapping row for one task or one event (the schema's unique keys, R16)."""


@dataclass
class MemoryRun:
    id: int
    started_at: datetime
    fence: int
    finished_at: datetime | None = None
    outcome: str = "running"
    skip_keys: tuple[tuple[object, ...], ...] = ()
    error: str | None = None


@dataclass
class MemoryUser:
    record: UserRecord
    category_ready: str | None = None
    fence: int = 0
    holder: str | None = None
    lease_expires_at: datetime | None = None
    links: list[Link] = field(default_factory=list)
    cache: dict[str, CachedEvent] = field(default_factory=dict)
    delta: DeltaRecord | None = None
    runs: list[MemoryRun] = field(default_factory=list)
    activity: list[tuple[int, datetime, ActivityEntry]] = field(default_factory=list)
    last_skip_keys: tuple[tuple[object, ...], ...] = ()
    relevant: set[str] = field(default_factory=set)  # an index, as the SQL store has one


class MemoryCycleStores:
    """Stores and their users in memory; `cycle_store(tenant_id)` as `Services` has it."""

    def __init__(self) -> None:
        self.tenants: dict[int, TenantRecord] = {}
        self.users: dict[int, MemoryUser] = {}
        self.serial = 0

    def next_id(self) -> int:
        self.serial += 1
        return self.serial

    def add_tenant(self, name: str = "Store", options: StoreOptions | None = None) -> TenantRecord:
        tenant_id = self.next_id()
        record = TenantRecord(tenant_id, f"ms-{tenant_id}", name, options or StoreOptions())
        self.tenants[tenant_id] = record
        return record

    def add_user(
        self, tenant_id: int, email: str, employee_id: int | None, now: datetime
    ) -> UserRecord:
        """A signed-in user, onboarded (R20) when `employee_id` is given."""
        user_id = self.next_id()
        record = UserRecord(
            id=user_id,
            tenant_id=tenant_id,
            object_id=f"object-{user_id}",
            email=email,
            display_name=email,
            employee_id=employee_id,
            onboarded_at=now if employee_id is not None else None,
            is_admin=False,
            status="active",
            last_error=None,
            last_heartbeat_at=now,
            next_run_at=now,
            last_run_at=None,
            last_outcome=None,
            sync_now_requested=False,
            has_token_cache=True,
        )
        self.users[user_id] = MemoryUser(record)
        return record

    def cycle_store(self, tenant_id: int) -> MemoryCycleStore:
        return MemoryCycleStore(self, tenant_id)


class _LinkRows:
    """One link transaction: changes made to a copy, kept only if it ends well."""

    def __init__(self, links: list[Link]) -> None:
        self.links = list(links)

    def _index(self, link: Link) -> int:
        for index, row in enumerate(self.links):
            if link.task_id is not None and row.task_id == link.task_id:
                return index
        for index, row in enumerate(self.links):
            if link.task_id is None and link.event_id is not None and row.event_id == link.event_id:
                return index
        for index, row in enumerate(self.links):
            if (
                link.task_id is None
                and link.event_id is None
                and row.transaction_id == (link.transaction_id)
            ):
                return index
        raise NotFound("mapping row vanished")

    def _check(self, new: Link, skip: int | None = None) -> None:
        for index, row in enumerate(self.links):
            if index == skip:
                continue
            same_task = new.task_id is not None and row.task_id == new.task_id
            same_event = new.event_id is not None and row.event_id == new.event_id
            same_txid = new.transaction_id is not None and row.transaction_id == new.transaction_id
            if same_task or same_event or same_txid:
                raise DuplicateLink(f"a mapping row already names {new.task_id}/{new.event_id}")

    async def add(self, user_id: int, link: Link, now: datetime) -> None:
        self._check(link)
        self.links.append(link)

    async def replace(self, user_id: int, old: Link, new: Link, now: datetime) -> None:
        index = self._index(old)
        self._check(new, skip=index)
        self.links[index] = new

    async def delete(self, user_id: int, link: Link) -> None:
        with suppress(NotFound):  # like a DELETE that finds no row
            del self.links[self._index(link)]


class MemoryCycleStore:
    """`ports.CycleStore` of one tenant, in memory."""

    def __init__(self, world: MemoryCycleStores, tenant_id: int) -> None:
        self.world, self.tenant_id = world, tenant_id

    def _user(self, user_id: int) -> MemoryUser:
        user = self.world.users.get(user_id)
        if user is None or user.record.tenant_id != self.tenant_id:
            raise NotFound(f"no user {user_id} in this store")  # R22: only this store's
        return user

    def _fenced(self, lease: Lease) -> MemoryUser:
        user = self._user(lease.user_id)
        if user.fence != lease.fence:
            raise LeaseLost(f"user {lease.user_id}: lease {lease.fence} superseded by {user.fence}")
        return user

    async def start(
        self, user_id: int, holder: str, now: datetime, ttl: timedelta
    ) -> CycleStart | Refusal:
        tenant = self.world.tenants.get(self.tenant_id)
        if tenant is None:
            raise NotFound(f"store {self.tenant_id} no longer exists")
        user = self._user(user_id)
        if not user.record.onboarded:
            return Refusal.NOT_ONBOARDED
        held_until = user.lease_expires_at
        unreleased = held_until is not None
        if held_until is not None and held_until >= now and not holder_gone(user.holder):
            return Refusal.BUSY
        expires = now + min(ttl, timedelta(minutes=tenant.options.interval_minutes) * 0.9)
        user.fence, user.holder, user.lease_expires_at = user.fence + 1, holder, expires
        if unreleased:  # issue 23: the runs a dead cycle left open are closed
            for left in user.runs:
                if left.finished_at is None:
                    left.finished_at, left.outcome = now, INTERRUPTED
                    left.error = INTERRUPTED_ERROR
        user.record = replace(user.record, sync_now_requested=False)
        run = MemoryRun(self.world.next_id(), now, user.fence)
        user.runs.append(run)
        linked = {link.event_id for link in user.links if link.event_id in user.cache}
        return CycleStart(
            tenant=tenant,
            user=user.record,
            lease=Lease(user_id, holder, user.fence, expires),
            run_id=run.id,
            previous_skips=frozenset(user.last_skip_keys),
            links=tuple(user.links),
            category_ready=user.category_ready,
            delta=user.delta,
            cached={event_id: user.cache[event_id] for event_id in user.relevant | linked},
        )

    async def cached(self, user_id: int, event_ids: Sequence[str] | None) -> dict[str, CachedEvent]:
        cache = self._user(user_id).cache
        if event_ids is None:
            return dict(cache)
        return {i: cache[i] for i in event_ids if i in cache}

    async def save_window(self, lease: Lease, window: WindowSave) -> None:
        self._save_window(self._fenced(lease), window)

    @staticmethod
    def _save_window(user: MemoryUser, window: WindowSave) -> None:
        if window.rebaselined:
            user.cache, user.relevant = {}, set()
        for event_id in window.removed:
            user.cache.pop(event_id, None)
            user.relevant.discard(event_id)
        for item in window.upserts:
            user.cache[item.event_id] = item
            if item.relevant:
                user.relevant.add(item.event_id)
            else:
                user.relevant.discard(item.event_id)
        user.delta = window.delta

    async def mark_category_ready(self, lease: Lease, name: str) -> None:
        self._fenced(lease).category_ready = name

    @asynccontextmanager
    async def link_writes(
        self, lease: Lease, window: WindowSave | None = None
    ) -> AsyncIterator[_LinkRows]:
        user = self._fenced(lease)
        rows = _LinkRows(user.links)
        yield rows
        user = self._fenced(lease)
        if window is not None:
            self._save_window(user, window)
        user.links = rows.links

    async def finish(self, lease: Lease, end: CycleEnd) -> None:
        user = self._user(lease.user_id)
        if user.fence == lease.fence:
            user.holder, user.lease_expires_at = None, None
            user.record = replace(
                user.record,
                next_run_at=end.next_run_at,
                last_run_at=end.finished_at,
                last_outcome=end.outcome,
                status=end.status,
                last_error=end.error,
            )
            asked = user.record.resync_requested_at
            if asked is not None and end.resync_of is not None and asked <= end.resync_of:
                user.record = replace(
                    user.record, resync_requested_at=None, resync_requested_by=None
                )
            user.last_skip_keys = tuple(tuple(key) for key in end.skip_keys)
            if end.window is not None:
                self._save_window(user, end.window)
        user.activity += [(end.run_id, end.now, entry) for entry in end.entries]
        for run in user.runs:
            if run.id == end.run_id:
                run.finished_at, run.outcome, run.error = end.finished_at, end.outcome, end.error
                run.skip_keys = tuple(tuple(key) for key in end.skip_keys)
