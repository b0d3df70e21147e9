"""One store's slice of the CALENDAREVENT database (R22).

`TenantScope(db, box, tenant_id)` is how the web app and the operator's commands reach
one store's rows: every repository it hands out filters and writes by that tenant id and
never takes one from its caller; on PostgreSQL the transaction is also bound to the
tenant for row-level security. `check_fence` is the cycle store's: every fenced write of
a cycle first checks its lease's fencing token, so a cycle whose lease was taken over
cannot write (DESIGN.md "Writing without duplicates").

One access layer per table and path (issue 18): the cycle's hot path — leases, run rows,
activity at a cycle's end, the window cache and delta link, fenced link writes — is
`store.cycles.SqlCycleStore` (named Core statements); the token path is
`store.token_caches.TokenCacheRows`; the cross-tenant view (who is due, the reaper, key
rotation) is `store.directory.Directory`. The repositories here do not repeat them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from s5sync.core.records import Lease
from s5sync.store.alerts import AlertRepository
from s5sync.store.audit import AuditRepository
from s5sync.store.database import Database
from s5sync.store.directory import LeaseLost
from s5sync.store.models import AppUser
from s5sync.store.repositories import (
    LinkRepository,
    RunRepository,
    TenantOptionsRepository,
    UserRepository,
)
from s5sync.store.secrets import SecretBox


@dataclass(frozen=True)
class Unit:
    """The repositories of one transaction of one tenant."""

    session: AsyncSession
    tenant: TenantOptionsRepository
    users: UserRepository
    links: LinkRepository
    runs: RunRepository
    alerts: AlertRepository
    audit: AuditRepository


class TenantScope:
    """Transactions bound to one tenant."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db = db
        self.box = box
        self.tenant_id = tenant_id

    @asynccontextmanager
    async def begin(self, *, write: bool = True) -> AsyncIterator[Unit]:
        async with self.db.transaction(self.tenant_id, write=write) as session:
            yield Unit(
                session=session,
                tenant=TenantOptionsRepository(session, self.tenant_id),
                users=UserRepository(session, self.tenant_id, self.box),
                links=LinkRepository(session, self.tenant_id),
                runs=RunRepository(session, self.tenant_id),
                alerts=AlertRepository(session, self.tenant_id),
                audit=AuditRepository(session, self.tenant_id),
            )


async def check_fence(
    executor: AsyncSession | AsyncConnection, db: Database, tenant_id: int, lease: Lease
) -> None:
    """R16: go on only while the lease is ours; its row stays locked to the commit."""
    query = select(AppUser.lease_fence).where(
        AppUser.id == lease.user_id, AppUser.tenant_id == tenant_id
    )
    if not db.is_sqlite:
        query = query.with_for_update()
    fence = await executor.scalar(query)
    if fence != lease.fence:
        raise LeaseLost(f"user {lease.user_id}: lease {lease.fence} superseded by {fence}")
