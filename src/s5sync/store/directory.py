"""The operator's view of the CALENDAREVENT database (R21c): every store and user.

This is the only code that works across tenants: registering stores, mapping users from
the CLI, finding due users for the scheduler, rotating keys. On PostgreSQL it runs on
the operator's connection (a role with BYPASSRLS, or the owner); everything a store's
users can reach goes through `TenantScope`, which is bound to one tenant (R22).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from s5sync.core.records import INTERRUPTED, INTERRUPTED_ERROR, TenantRecord, UserRecord
from s5sync.core.snapshots import StoreOptions
from s5sync.core.status import HEARTBEAT_TIMEOUT
from s5sync.store.database import Database
from s5sync.store.models import AppUser, AuthFlow, DeltaState, EventCache, SyncRun, Tenant
from s5sync.store.sealed import rotate_event_data
from s5sync.store.secrets import SecretBox

OPTION_NAMES = tuple(f.name for f in fields(StoreOptions))


class StoreError(Exception):
    """Base of the store's errors; messages name what the operator should do.

    StoreError
    ├── NotFound        a tenant or user the command names does not exist
    ├── AlreadyExists   registering a tenant twice
    └── LeaseLost       another cycle took the user's lease (fencing token changed)
    """


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class LeaseLost(StoreError):
    pass


def active_user(now: datetime) -> Any:
    """R14: background sync on, or a heartbeat within 2 minutes (a NULL heartbeat is
    not one: the clause is never NULL, so its negation holds for such users)."""
    return or_(
        Tenant.background_sync.is_(True),
        and_(
            AppUser.last_heartbeat_at.is_not(None),
            AppUser.last_heartbeat_at >= now - HEARTBEAT_TIMEOUT,
        ),
    )


def tenant_record(row: Tenant) -> TenantRecord:
    options = StoreOptions(**{name: getattr(row, name) for name in OPTION_NAMES})
    return TenantRecord(row.id, row.ms_tenant_id, row.name, options)


def user_record(row: AppUser) -> UserRecord:
    """An `app_user` row (an entity, or a Core row naming the same columns and a
    `has_token_cache` flag) as a record."""
    return UserRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        object_id=row.object_id,
        email=row.email,
        display_name=row.display_name,
        employee_id=row.employee_id,
        onboarded_at=row.onboarded_at,
        is_admin=row.is_admin,
        status=row.status,
        last_error=row.last_error,
        last_heartbeat_at=row.last_heartbeat_at,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_outcome=row.last_outcome,
        sync_now_requested=row.sync_now_requested,
        has_token_cache=bool(row.has_token_cache),
        session_generation=row.session_generation,
        # Rows of statements that do not name them (the cycle's lease) leave them None.
        push_live_until=getattr(row, "push_live_until", None),
        last_change_at=getattr(row, "last_change_at", None),
        push_error=getattr(row, "push_error", None),
        push_retry_at=getattr(row, "push_retry_at", None),
        paused_at=getattr(row, "paused_at", None),
        paused_by=getattr(row, "paused_by", None),
        resync_requested_at=getattr(row, "resync_requested_at", None),
        resync_requested_by=getattr(row, "resync_requested_by", None),
    )


class Directory:
    """Stores and users across tenants, for the operator and the scheduler."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    async def create_tenant(
        self,
        ms_tenant_id: str,
        name: str,
        s5_connection: str,
        now: datetime,
        **options: Any,
    ) -> TenantRecord:
        async with self.db.transaction() as session:
            existing = await session.scalar(
                select(Tenant.id).where(Tenant.ms_tenant_id == ms_tenant_id)
            )
            if existing is not None:
                raise AlreadyExists(f"a store for Microsoft tenant {ms_tenant_id} exists")
            merged = {**StoreOptions().__dict__, **options}
            row = Tenant(
                ms_tenant_id=ms_tenant_id,
                name=name,
                s5_connection_enc=self.box.seal(s5_connection),
                created_at=now,
                **merged,
            )
            session.add(row)
            await session.flush()
            return tenant_record(row)

    async def tenants(self) -> list[TenantRecord]:
        async with self.db.transaction(write=False) as session:
            rows = await session.scalars(select(Tenant).order_by(Tenant.id))
            return [tenant_record(r) for r in rows]

    async def tenant(self, key: str | int) -> TenantRecord:
        """A tenant by database id or Microsoft tenant id."""
        async with self.db.transaction(write=False) as session:
            row = await session.scalar(self._tenant_query(key))
            if row is None:
                raise NotFound(f"no store registered for tenant {key}")
            return tenant_record(row)

    async def find_tenant(self, ms_tenant_id: str) -> TenantRecord | None:
        async with self.db.transaction(write=False) as session:
            row = await session.scalar(select(Tenant).where(Tenant.ms_tenant_id == ms_tenant_id))
            return tenant_record(row) if row is not None else None

    async def update_tenant(
        self, key: str | int, *, s5_connection: str | None = None, **changes: Any
    ) -> TenantRecord:
        unknown = set(changes) - {*OPTION_NAMES, "name"}
        if unknown:
            raise ValueError(f"unknown store option(s): {', '.join(sorted(unknown))}")
        async with self.db.transaction() as session:
            row = await session.scalar(self._tenant_query(key))
            if row is None:
                raise NotFound(f"no store registered for tenant {key}")
            for name, value in changes.items():
                setattr(row, name, value)
            if s5_connection is not None:
                row.s5_connection_enc = self.box.seal(s5_connection)
            await session.flush()
            return tenant_record(row)

    async def remove_tenant(self, key: str | int) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(self._tenant_query(key))
            if row is None:
                raise NotFound(f"no store registered for tenant {key}")
            await session.delete(row)

    async def s5_connection(self, tenant_id: int) -> str:
        """The store's System Five connection URL, decrypted (never logged or shown)."""
        async with self.db.transaction(write=False) as session:
            enc = await session.scalar(
                select(Tenant.s5_connection_enc).where(Tenant.id == tenant_id)
            )
            if enc is None:
                raise NotFound(f"no store with id {tenant_id}")
            return self.box.open(enc)

    @staticmethod
    def _tenant_query(key: str | int) -> Any:
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            return select(Tenant).where(or_(Tenant.id == int(key), Tenant.ms_tenant_id == str(key)))
        return select(Tenant).where(Tenant.ms_tenant_id == key)

    # Users, across stores (the CLI finds a user by e-mail; R21c)

    async def users(self, tenant_key: str | int | None = None) -> list[UserRecord]:
        async with self.db.transaction(write=False) as session:
            query = select(AppUser).order_by(AppUser.tenant_id, AppUser.email)
            if tenant_key is not None:
                tenant = await session.scalar(self._tenant_query(tenant_key))
                if tenant is None:
                    raise NotFound(f"no store registered for tenant {tenant_key}")
                query = query.where(AppUser.tenant_id == tenant.id)
            return [user_record(r) for r in await session.scalars(query)]

    async def find_users(self, email: str, tenant_key: str | int | None = None) -> list[UserRecord]:
        wanted = email.strip().lower()
        return [u for u in await self.users(tenant_key) if u.email.lower() == wanted]

    async def due_users(
        self, now: datetime, limit: int = 100, *, horizon: timedelta = timedelta(0)
    ) -> list[UserRecord]:
        """R14: onboarded, signed in, active (heartbeat within 2 minutes or background
        sync on), not leased, and due (`next_run_at` passed — or within `horizon`, for a
        dispatcher that schedules ahead — or Sync now pressed)."""
        async with self.db.transaction(write=False) as session:
            query = self._due_query(now, horizon).order_by(AppUser.next_run_at).limit(limit)
            return [user_record(r) for r in await session.scalars(query)]

    async def due_user(
        self, user_id: int, now: datetime, *, horizon: timedelta = timedelta(0)
    ) -> UserRecord | None:
        """The user if still due (a queued job re-checks before running its cycle)."""
        async with self.db.transaction(write=False) as session:
            row = await session.scalar(self._due_query(now, horizon).where(AppUser.id == user_id))
            return user_record(row) if row is not None else None

    @staticmethod
    def _due_query(now: datetime, horizon: timedelta) -> Any:
        return (
            select(AppUser)
            .join(Tenant, Tenant.id == AppUser.tenant_id)
            .where(
                AppUser.onboarded_at.is_not(None),
                AppUser.employee_id.is_not(None),
                AppUser.status != "needs_sign_in",
                AppUser.paused_at.is_(None),  # R14c
                AppUser.token_cache_enc.is_not(None),
                active_user(now),
                or_(
                    AppUser.sync_now_requested.is_(True),
                    AppUser.next_run_at.is_(None),
                    AppUser.next_run_at <= now + horizon,
                ),
                or_(AppUser.lease_expires_at.is_(None), AppUser.lease_expires_at < now),
            )
        )

    async def rotate_keys(self) -> int:
        """Re-encrypt every secret with the newest key (`s5sync keys rotate`)."""
        count = 0
        async with self.db.transaction() as session:
            for tenant in await session.scalars(select(Tenant)):
                tenant.s5_connection_enc = self.box.rotate(tenant.s5_connection_enc)
                count += 1
            for user in await session.scalars(
                select(AppUser).where(AppUser.token_cache_enc.is_not(None))
            ):
                assert user.token_cache_enc is not None
                user.token_cache_enc = self.box.rotate(user.token_cache_enc)
                count += 1
            for state in await session.scalars(
                select(DeltaState).where(DeltaState.delta_link_enc.is_not(None))
            ):
                assert state.delta_link_enc is not None
                state.delta_link_enc = self.box.rotate(state.delta_link_enc)
                count += 1
            for flow in await session.scalars(select(AuthFlow)):
                flow.flow_enc = self.box.rotate(flow.flow_enc)
                count += 1
            # The window cache's event text (store/sealed.py): one token per event.
            for cached in await session.scalars(select(EventCache)):
                cached.data = rotate_event_data(self.box, cached.data)
                count += 1
        return count

    async def save_auth_flow(self, state: str, flow: str, expires_at: datetime) -> None:
        """Keep an MSAL auth-code flow server-side until its callback (R19)."""
        async with self.db.transaction() as session:
            session.add(AuthFlow(state=state, flow_enc=self.box.seal(flow), expires_at=expires_at))

    async def take_auth_flow(self, state: str, now: datetime) -> str | None:
        """The flow for `state`, once: taken flows are deleted, so a replayed or forged
        state finds nothing; expired flows count as absent."""
        async with self.db.transaction() as session:
            row = await session.scalar(select(AuthFlow).where(AuthFlow.state == state))
            if row is None:
                return None
            await session.delete(row)
            return self.box.open(row.flow_enc) if row.expires_at >= now else None

    async def purge_auth_flows(self, now: datetime) -> int:
        async with self.db.transaction() as session:
            result = await session.execute(delete(AuthFlow).where(AuthFlow.expires_at < now))
            return int(getattr(result, "rowcount", 0) or 0)

    async def set_first_runs(self, first: dict[int, tuple[datetime, datetime]]) -> int:
        """Give users with no rhythm yet (never run, or not due since `stale_before`) the
        time of their next cycle: `{user id: (at, stale_before)}`; a user whose cycle
        set one meanwhile keeps it."""
        if not first:
            return 0
        async with self.db.transaction() as session:
            changed = 0
            for user_id, (at, stale_before) in first.items():
                result = await session.execute(
                    update(AppUser)
                    .where(
                        AppUser.id == user_id,
                        or_(AppUser.next_run_at.is_(None), AppUser.next_run_at < stale_before),
                    )
                    .values(next_run_at=at)
                )
                changed += int(getattr(result, "rowcount", 0) or 0)
            return changed

    async def clear_expired_lease(self, user_id: int, now: datetime) -> bool:
        """Free the user's lease only if it has expired (the distributed reaper: a live
        cycle keeps its lease; the fencing token is untouched, so nothing is reused)."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(AppUser)
                .where(AppUser.id == user_id, AppUser.lease_expires_at < now)
                .values(lease_holder=None, lease_expires_at=None)
            )
            freed = bool(getattr(result, "rowcount", 0))
            if freed:
                # Issue 23 item 6 (R18): the dead cycle's run is closed, not left running.
                await session.execute(
                    update(SyncRun)
                    .where(SyncRun.user_id == user_id, SyncRun.finished_at.is_(None))
                    .values(finished_at=now, outcome=INTERRUPTED, error=INTERRUPTED_ERROR)
                )
            return freed
