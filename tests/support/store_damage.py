"""Damage done to one user's CALENDAREVENT rows behind the product's back, a lease freed
as if its holder's process were gone, and a read of the saved delta state, for tests of
recovery (R8, R16, R16b) and of secrets at rest (R22).

No product path deletes a user's mapping or window, or writes a delta link Graph did not
give: these are what a lost or restored database looks like, so they are written here as
plain statements on the schema, not as repository methods only tests call (issue 18).
The cycle's own reads and writes stay on its store (`SqlCycleStore.cached`, `save_window`;
tests/support/cycle_rows.py for its run rows).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from s5sync.core.records import DeltaRecord
from s5sync.core.snapshots import Link
from s5sync.entrypoints.bootstrap import Services
from s5sync.store.cycle_rows import link_values
from s5sync.store.models import AppUser, DeltaState, EventCache, EventLink


async def forget_links(services: Services, tenant_id: int, user_id: int) -> int:
    """Every mapping row of the user is lost (R16b); how many there were."""
    async with services.db.transaction(tenant_id) as session:
        done = await session.execute(
            delete(EventLink).where(EventLink.tenant_id == tenant_id, EventLink.user_id == user_id)
        )
    return int(getattr(done, "rowcount", 0) or 0)


async def damage_link(
    services: Services, tenant_id: int, user_id: int, link: Link, damaged: Link
) -> None:
    """The user's mapping row of `link` (found by its task id) now says `damaged`: a row
    restored from an old backup, or written by a bug (R7b, R14c, R16b)."""
    assert link.task_id is not None, "a damaged row is found by its task id"
    async with services.db.transaction(tenant_id) as session:
        done = await session.execute(
            update(EventLink)
            .where(
                EventLink.tenant_id == tenant_id,
                EventLink.user_id == user_id,
                EventLink.task_id == link.task_id,
            )
            .values(**link_values(damaged))
        )
    assert getattr(done, "rowcount", 0) == 1, "no such mapping row"


async def forget_link(services: Services, tenant_id: int, user_id: int, link: Link) -> None:
    """One mapping row of the user is lost (R16b), found by its task id."""
    async with services.db.transaction(tenant_id) as session:
        await session.execute(
            delete(EventLink).where(
                EventLink.tenant_id == tenant_id,
                EventLink.user_id == user_id,
                EventLink.task_id == link.task_id,
            )
        )


async def forget_window(services: Services, tenant_id: int, user_id: int) -> None:
    """The user's window cache and delta link are lost: the next read is a full
    re-baseline, where absence is not deletion."""
    async with services.db.transaction(tenant_id) as session:
        for table in (EventCache, DeltaState):
            await session.execute(
                delete(table).where(table.tenant_id == tenant_id, table.user_id == user_id)
            )


async def saved_delta(services: Services, tenant_id: int, user_id: int) -> DeltaRecord | None:
    """The delta state the user's last cycle saved (its link opened), or None."""
    async with services.db.transaction(tenant_id, write=False) as session:
        row = await session.scalar(
            select(DeltaState).where(
                DeltaState.tenant_id == tenant_id, DeltaState.user_id == user_id
            )
        )
    if row is None:
        return None
    link = services.box.open(row.delta_link_enc) if row.delta_link_enc is not None else None
    return DeltaRecord(link, row.window_start, row.window_end, row.baselined_at, row.relevance_tag)


async def replace_delta_link(services: Services, tenant_id: int, user_id: int, link: str) -> None:
    """The saved delta link becomes `link` (sealed, as the cycle seals it): a link that
    has skipped what happened since (R8)."""
    assert await saved_delta(services, tenant_id, user_id) is not None, "no delta state"
    sealed = services.box.seal(link)
    async with services.db.transaction(tenant_id) as session:
        await session.execute(
            update(DeltaState)
            .where(DeltaState.tenant_id == tenant_id, DeltaState.user_id == user_id)
            .values(delta_link_enc=sealed)
        )


async def free_lease(services: Services, tenant_id: int, user_id: int) -> None:
    """The user's lease is free, as when its holder's process is gone (R16: the fence
    still grows with the next lease, so a cycle that somehow goes on cannot write)."""
    async with services.db.transaction(tenant_id) as session:
        await session.execute(
            update(AppUser)
            .where(AppUser.tenant_id == tenant_id, AppUser.id == user_id)
            .values(lease_holder=None, lease_expires_at=None)
        )
