"""Two stores with one signed-in user each, for the row-level security tests (R22)."""

from __future__ import annotations

from datetime import datetime

from s5sync.core.records import TenantRecord
from s5sync.store.database import Database
from s5sync.store.directory import Directory
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretBox


async def two_stores_with_a_user_each(
    db: Database, box: SecretBox, now: datetime
) -> tuple[TenantRecord, TenantRecord]:
    """Stores A and B, each with one signed-in user (`oid-a`, `oid-b`), written through
    `TenantScope` (so through the store-bound role when `db` has one)."""
    directory = Directory(db, box)
    a = await directory.create_tenant("rls-a", "A", "sqlite://", now)
    b = await directory.create_tenant("rls-b", "B", "sqlite://", now)
    for tenant, oid in ((a, "oid-a"), (b, "oid-b")):
        async with TenantScope(db, box, tenant.id).begin() as unit:
            await unit.users.signed_in(oid, f"{oid}@x.example", oid, now)
    return a, b
