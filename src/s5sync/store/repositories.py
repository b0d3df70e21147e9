"""Repositories of one tenant's rows; built by `TenantScope` on one transaction.

Each takes the tenant id at construction and adds it to every query (R22). They return
records and core snapshots, never ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from s5sync.core.records import (
    ActivityEntry,
    ActivityRecord,
    RunRecord,
    TenantRecord,
    UserRecord,
)
from s5sync.core.snapshots import Link, LinkState, Origin
from s5sync.store.cycle_rows import activity_row
from s5sync.store.directory import NotFound, tenant_record, user_record
from s5sync.store.models import (
    Activity,
    AppUser,
    EventLink,
    SyncRun,
    Tenant,
)
from s5sync.store.secrets import SecretBox


class _Scoped:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id


class TenantOptionsRepository(_Scoped):
    """The store's own row: its options (R21), editable by its administrator."""

    async def get(self) -> TenantRecord:
        row = await self.session.get(Tenant, self.tenant_id)
        if row is None:
            raise NotFound(f"store {self.tenant_id} no longer exists")
        return tenant_record(row)

    async def set_options(self, **changes: Any) -> TenantRecord:
        row = await self.session.get(Tenant, self.tenant_id)
        if row is None:
            raise NotFound(f"store {self.tenant_id} no longer exists")
        for name, value in changes.items():
            setattr(row, name, value)
        await self.session.flush()
        return tenant_record(row)


def invited_object_id(email: str) -> str:
    """The placeholder object id of a user named by the operator before signing in."""
    return f"invited:{email.strip().lower()}"


class UserRepository(_Scoped):
    """Staff of one store: sign-in, onboarding (R20), token cache (R22), lease, status."""

    def __init__(self, session: AsyncSession, tenant_id: int, box: SecretBox) -> None:
        super().__init__(session, tenant_id)
        self.box = box

    def _query(self) -> Select[AppUser]:
        return select(AppUser).where(AppUser.tenant_id == self.tenant_id)

    async def _row(self, user_id: int) -> AppUser:
        row = await self.session.scalar(self._query().where(AppUser.id == user_id))
        if row is None:
            raise NotFound(f"no user {user_id} in this store")
        return row

    async def get(self, user_id: int) -> UserRecord:
        return user_record(await self._row(user_id))

    async def find(self, user_id: int) -> UserRecord | None:
        row = await self.session.scalar(self._query().where(AppUser.id == user_id))
        return user_record(row) if row is not None else None

    async def all(self) -> list[UserRecord]:
        rows = await self.session.scalars(self._query().order_by(AppUser.email))
        return [user_record(r) for r in rows]

    async def signed_in(
        self, object_id: str, email: str, display_name: str, now: datetime
    ) -> UserRecord:
        """Create or refresh the user after a sign-in (R19); clears needs-sign-in (R19b)."""
        row = await self.session.scalar(self._query().where(AppUser.object_id == object_id))
        if row is None:
            # R21c: the operator may map or name a user before their first sign-in.
            row = await self.session.scalar(
                self._query().where(AppUser.object_id == invited_object_id(email))
            )
            if row is not None:
                row.object_id = object_id
        if row is None:
            row = AppUser(
                tenant_id=self.tenant_id,
                object_id=object_id,
                email=email,
                display_name=display_name,
                created_at=now,
            )
            self.session.add(row)
        else:
            row.email, row.display_name = email, display_name
            if row.status == "needs_sign_in":
                row.status, row.last_error = "active", None
        await self.session.flush()
        return user_record(row)

    async def invite(self, email: str, now: datetime) -> UserRecord:
        """A row for a user who has not signed in yet, claimed at their first sign-in."""
        for row in await self.session.scalars(self._query()):
            if row.email.lower() == email.strip().lower():
                return user_record(row)
        row = AppUser(
            tenant_id=self.tenant_id,
            object_id=invited_object_id(email),
            email=email.strip(),
            display_name="",
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return user_record(row)

    async def save_token_cache(self, user_id: int, serialized: str | None) -> None:
        row = await self._row(user_id)
        row.token_cache_enc = self.box.seal(serialized) if serialized is not None else None

    async def onboard(self, user_id: int, employee_id: int, now: datetime) -> UserRecord:
        row = await self._row(user_id)
        row.employee_id, row.onboarded_at = employee_id, now
        row.next_run_at = now
        await self.session.flush()
        return user_record(row)

    async def unmap(self, user_id: int) -> UserRecord:
        row = await self._row(user_id)
        row.employee_id, row.onboarded_at = None, None
        await self.session.flush()
        return user_record(row)

    async def remove(self, user_id: int) -> None:
        await self.session.delete(await self._row(user_id))

    async def set_paused(self, user_id: int, at: datetime | None, by: str | None) -> UserRecord:
        """R14c: pause (a time and who) or resume (None) the user's cycles."""
        row = await self._row(user_id)
        row.paused_at, row.paused_by = at, by
        if at is None:
            row.next_run_at = None  # resumed: due at once, from where it stopped
        await self.session.flush()
        return user_record(row)

    async def request_resync(self, user_id: int, at: datetime, by: str) -> UserRecord:
        """R14c: the user's next cycle is a resync (repair), due at once; a paused user
        is repaired when resumed."""
        row = await self._row(user_id)
        row.resync_requested_at, row.resync_requested_by = at, by
        row.next_run_at = None
        row.sync_now_requested = True
        await self.session.flush()
        return user_record(row)

    async def set_admin(self, user_id: int, is_admin: bool) -> UserRecord:
        row = await self._row(user_id)
        row.is_admin = is_admin
        await self.session.flush()
        return user_record(row)

    async def end_sessions(self, user_id: int) -> None:
        """Sign out everywhere: every session cookie issued so far stops working, and no
        page of the user's is open any more (R14: not active unless the store syncs in
        the background, so no new Graph subscription is made for them, R14b)."""
        row = await self._row(user_id)
        row.session_generation += 1
        row.last_heartbeat_at = None

    async def heartbeat(self, user_id: int, now: datetime) -> None:
        row = await self._row(user_id)
        row.last_heartbeat_at = now

    async def request_sync_now(self, user_id: int) -> None:
        """R14: run at once; if a cycle runs now, one more runs right after it."""
        row = await self._row(user_id)
        row.sync_now_requested = True


def link_snapshot(row: EventLink) -> Link:
    return Link(
        task_id=row.task_id,
        event_id=row.event_id,
        origin=Origin(row.origin),
        state=LinkState(row.state),
        transaction_id=row.transaction_id,
        task_hash=row.task_hash,
        event_hash=row.event_hash,
        change_key=row.change_key,
    )


class LinkRepository(_Scoped):
    """The mapping rows of one store as the pages, exports and repairs read them (R16);
    a cycle writes them through its own store (`SqlCycleStore.link_writes`)."""

    def _query(self, user_id: int) -> Select[EventLink]:
        return select(EventLink).where(
            EventLink.tenant_id == self.tenant_id, EventLink.user_id == user_id
        )

    async def all(self, user_id: int) -> list[Link]:
        rows = await self.session.scalars(self._query(user_id).order_by(EventLink.id))
        return [link_snapshot(r) for r in rows]


class RunRepository(_Scoped):
    """Cycle records and the activity log (R18), pruned by retention (R21b)."""

    async def log(
        self, user_id: int, run_id: int | None, at: datetime, entries: Iterable[ActivityEntry]
    ) -> None:
        self.session.add_all(
            Activity(
                tenant_id=self.tenant_id, user_id=user_id, run_id=run_id, at=at, **activity_row(e)
            )
            for e in entries
        )
        await self.session.flush()

    async def activity(
        self, user_id: int, limit: int = 50, offset: int = 0
    ) -> list[ActivityRecord]:
        rows = await self.session.scalars(
            select(Activity)
            .where(Activity.tenant_id == self.tenant_id, Activity.user_id == user_id)
            .order_by(Activity.at.desc(), Activity.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [
            ActivityRecord(
                r.id,
                r.at,
                r.direction,
                r.action,
                r.reason,
                r.task_id,
                r.event_id,
                r.subject,
                r.message,
            )
            for r in rows
        ]

    async def activity_count(self, user_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(Activity.tenant_id == self.tenant_id, Activity.user_id == user_id)
        )
        return int(count or 0)

    async def runs(self, user_id: int, limit: int = 20) -> list[RunRecord]:
        rows = await self.session.scalars(
            select(SyncRun)
            .where(SyncRun.tenant_id == self.tenant_id, SyncRun.user_id == user_id)
            # Issue 23: by when they really ran — ids grow with each run; `started_at` is
            # the cycle's `now`, which `--now` or a clock that jumped may put in the future.
            .order_by(SyncRun.id.desc())
            .limit(limit)
        )
        return [
            RunRecord(
                r.id,
                r.user_id,
                r.now,
                r.started_at,
                r.finished_at,
                r.outcome,
                dict(r.counts),
                dict(r.graph_requests),
                r.error,
            )
            for r in rows
        ]

    async def prune(self, before: datetime) -> int:
        """R21b: drop activity and cycle records older than the retention."""
        first = await self.session.execute(
            delete(Activity).where(Activity.tenant_id == self.tenant_id, Activity.at < before)
        )
        second = await self.session.execute(
            delete(SyncRun).where(SyncRun.tenant_id == self.tenant_id, SyncRun.started_at < before)
        )
        return int(getattr(first, "rowcount", 0) or 0) + int(getattr(second, "rowcount", 0) or 0)
