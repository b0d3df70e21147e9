"""Graph subscriptions and change wake-ups in the CALENDAREVENT database (R14b, R22).

`SubscriptionRows` is the one access layer of `graph_subscription` and of the two
`app_user` columns push adds (`push_live_until`, `last_change_at`):

- `lookup(subscription_id)`: what a notification is checked against — the store, the
  user and the opened client state. It is the one cross-store read of the notification
  endpoint (a notification names only its subscription), on the owner's engine like the
  `Directory`; everything after it is bound to that store;
- `upkeep(now)`: the manager's work, in one statement — active users (R14) with no
  subscription (create), subscriptions due for renewal (renew), subscriptions whose user
  is no longer active for a day, unmapped, or must sign in again (delete);
- `saved`/`renewed`/`failed`/`dropped`: the manager's outcomes; `push_live_until` follows
  the subscription, so a cycle knows whether it is the safety net (R14b);
- `create_failed`: a subscription could not be made — why, and when it is tried again
  (`app_user.push_error`, `push_retry_at`, migration 0012; cleared by `saved`);
- `troubles(tenant_id)`: the store's users whose last renewal failed or whose
  subscription could not be made, why, and when it is tried again (the health page);
- `note_changes(user_ids, now)`: "this user changed" — sets `sync_now_requested` and
  `last_change_at` for the users who are active, and says which ones (R14: an idle user
  is never woken).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, insert, literal, not_, or_, select, update

from s5sync.core.cadence import Trouble
from s5sync.store.database import Database
from s5sync.store.directory import active_user
from s5sync.store.models import AppUser, GraphSubscription, Tenant
from s5sync.store.secrets import SecretBox

IDLE_GRACE = timedelta(days=1)  # an inactive user keeps the subscription this long


@dataclass(frozen=True)
class SubscriptionKey:
    """A subscription as a notification is checked against it."""

    tenant_id: int
    ms_tenant_id: str
    user_id: int
    subscription_id: str
    client_state: str

    def __repr__(self) -> str:  # R22: the client state never shows
        return f"SubscriptionKey(tenant_id={self.tenant_id}, user_id={self.user_id}, …)"


@dataclass(frozen=True)
class Upkeep:
    """One thing the subscription manager must do for one user."""

    action: str  # create | renew | delete
    tenant_id: int
    user_id: int
    object_id: str
    subscription_id: str | None = None
    expires_at: datetime | None = None
    failures: int = 0


def _eligible() -> Any:
    """Onboarded, mapped, signed in with a working token (R19b, R20)."""
    return and_(
        AppUser.onboarded_at.is_not(None),
        AppUser.employee_id.is_not(None),
        AppUser.status != "needs_sign_in",
        AppUser.token_cache_enc.is_not(None),
    )


class SubscriptionRows:
    """`graph_subscription` rows and the push columns of `app_user`."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    async def lookup(self, subscription_id: str) -> SubscriptionKey | None:
        query = (
            select(
                GraphSubscription.tenant_id,
                Tenant.ms_tenant_id,
                GraphSubscription.user_id,
                GraphSubscription.client_state_enc,
            )
            .join(Tenant, Tenant.id == GraphSubscription.tenant_id)
            .where(GraphSubscription.subscription_id == subscription_id)
        )
        async with self.db.connection(write=False) as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return SubscriptionKey(
            row.tenant_id,
            row.ms_tenant_id,
            row.user_id,
            subscription_id,
            self.box.open(row.client_state_enc),
        )

    async def upkeep(
        self, now: datetime, limit: int = 300, *, creating: bool = True
    ) -> list[Upkeep]:
        """What the manager must do now, in one statement (issue 19: a sweep with nothing
        to do is one indexed read): deletions and renewals first, then creations (only
        when `creating`: a deployment that cannot push reads none), `limit` in all —
        users whose creation keeps failing never hold back a renewal."""
        mine = and_(
            GraphSubscription.tenant_id == AppUser.tenant_id,
            GraphSubscription.user_id == AppUser.id,
        )
        wanted = and_(_eligible(), active_user(now))
        stale = or_(
            not_(_eligible()),
            not_(active_user(now - IDLE_GRACE)),
            GraphSubscription.expires_at <= now,
        )
        has = GraphSubscription.id.is_not(None)
        action = case(
            (GraphSubscription.id.is_(None), literal("create")),
            (stale, literal("delete")),
            else_=literal("renew"),
        ).label("action")
        todo = or_(and_(has, stale), and_(has, wanted, GraphSubscription.renew_at <= now))
        if creating:  # a failed creation waits for its retry time (whoever sweeps)
            due = or_(AppUser.push_retry_at.is_(None), AppUser.push_retry_at <= now)
            todo = or_(todo, and_(GraphSubscription.id.is_(None), wanted, due))
        query = (
            select(
                action,
                AppUser.tenant_id,
                AppUser.id,
                AppUser.object_id,
                GraphSubscription.subscription_id,
                GraphSubscription.expires_at,
                GraphSubscription.failures,
            )
            .join(Tenant, Tenant.id == AppUser.tenant_id)
            .outerjoin(GraphSubscription, mine)
            .where(todo)
            .order_by(has.desc(), AppUser.id)
            .limit(limit)
        )
        async with self.db.connection(write=False) as conn:
            found = await conn.execute(query)
            return [
                Upkeep(
                    row.action,
                    row.tenant_id,
                    row.id,
                    row.object_id,
                    row.subscription_id,
                    row.expires_at,
                    row.failures or 0,
                )
                for row in found
            ]

    async def upkeep_of(self, tenant_id: int, user_id: int) -> Upkeep | None:
        """The user's subscription as a `delete` to do (sign-out)."""
        query = (
            select(AppUser.object_id, GraphSubscription.subscription_id)
            .join(AppUser, AppUser.id == GraphSubscription.user_id)
            .where(*_of(tenant_id, user_id))
        )
        async with self.db.connection(tenant_id, write=False) as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return Upkeep("delete", tenant_id, user_id, row.object_id, row.subscription_id)

    async def saved(
        self,
        tenant_id: int,
        user_id: int,
        *,
        subscription_id: str,
        client_state: str,
        expires_at: datetime,
        renew_at: datetime,
        now: datetime,
    ) -> None:
        """A new subscription: it replaces any row the user had."""
        async with self.db.connection(tenant_id) as conn:
            await conn.execute(_drop(tenant_id, user_id))
            await conn.execute(
                insert(GraphSubscription).values(
                    tenant_id=tenant_id,
                    user_id=user_id,
                    subscription_id=subscription_id,
                    client_state_enc=self.box.seal(client_state),
                    expires_at=expires_at,
                    renew_at=renew_at,
                    created_at=now,
                    failures=0,
                )
            )
            await conn.execute(
                _live(tenant_id, user_id, expires_at).values(push_error=None, push_retry_at=None)
            )

    async def create_failed(
        self, tenant_id: int, user_id: int, *, error: str, retry_at: datetime
    ) -> None:
        """Making the user's subscription failed: why, and when it is tried again (the
        health page and the dashboard say both; no sweep tries before `retry_at`)."""
        async with self.db.connection(tenant_id) as conn:
            await conn.execute(
                update(AppUser)
                .where(AppUser.tenant_id == tenant_id, AppUser.id == user_id)
                .values(push_error=error[:500], push_retry_at=retry_at)
            )

    async def renewed(
        self,
        tenant_id: int,
        user_id: int,
        *,
        expires_at: datetime,
        renew_at: datetime,
        now: datetime,
    ) -> None:
        async with self.db.connection(tenant_id) as conn:
            await conn.execute(
                update(GraphSubscription)
                .where(*_of(tenant_id, user_id))
                .values(
                    expires_at=expires_at,
                    renew_at=renew_at,
                    renewed_at=now,
                    failures=0,
                    last_error=None,
                )
            )
            await conn.execute(_live(tenant_id, user_id, expires_at))

    async def failed(self, tenant_id: int, user_id: int, *, error: str, retry_at: datetime) -> None:
        """A renewal failed: try again at `retry_at`; it stays live until it expires."""
        async with self.db.connection(tenant_id) as conn:
            await conn.execute(
                update(GraphSubscription)
                .where(*_of(tenant_id, user_id))
                .values(
                    failures=GraphSubscription.failures + 1,
                    last_error=error[:500],
                    renew_at=retry_at,
                )
            )

    async def renew_soon(self, tenant_id: int, user_id: int, now: datetime) -> None:
        """`reauthorizationRequired`: renew at the manager's next look."""
        async with self.db.connection(tenant_id) as conn:
            await conn.execute(
                update(GraphSubscription).where(*_of(tenant_id, user_id)).values(renew_at=now)
            )

    async def dropped(self, tenant_id: int, user_id: int) -> None:
        """No subscription any more (deleted, removed by Graph, refused): poll as before."""
        async with self.db.connection(tenant_id) as conn:
            await conn.execute(_drop(tenant_id, user_id))
            await conn.execute(_live(tenant_id, user_id, None))

    async def needs_sign_in(self, tenant_id: int, user_id: int, reason: str) -> None:
        """R19b: the subscription could not be renewed with the user's token — the user
        must sign in again (the dashboard and health page say so); nobody else changes."""
        async with self.db.connection(tenant_id) as conn:
            await conn.execute(_drop(tenant_id, user_id))
            await conn.execute(
                update(AppUser)
                .where(AppUser.tenant_id == tenant_id, AppUser.id == user_id)
                .values(push_live_until=None, status="needs_sign_in", last_error=reason[:500])
            )

    async def troubles(self, tenant_id: int) -> dict[int, Trouble]:
        """The store's users whose last renewal failed (the subscription stays live until
        it expires) or whose subscription could not be made: the error and when it is
        tried again (R21)."""
        renewals = select(
            GraphSubscription.user_id, GraphSubscription.last_error, GraphSubscription.renew_at
        ).where(GraphSubscription.tenant_id == tenant_id, GraphSubscription.failures > 0)
        creations = select(AppUser.id, AppUser.push_error, AppUser.push_retry_at).where(
            AppUser.tenant_id == tenant_id, AppUser.push_error.is_not(None)
        )
        async with self.db.connection(tenant_id, write=False) as conn:
            found = {
                row.id: Trouble(row.push_error or "unknown error", row.push_retry_at, False)
                for row in await conn.execute(creations)
            }
            for row in await conn.execute(renewals):
                found[row.user_id] = Trouble(row.last_error or "unknown error", row.renew_at, True)
        return found

    async def note_changes(self, user_ids: Iterable[int], now: datetime) -> list[int]:
        """R14b: the users changed; the active ones among them get a cycle (Sync now's
        flag: one running now leaves exactly one more). Returns those woken."""
        ids = sorted(set(user_ids))
        if not ids:
            return []
        active = select(AppUser.id).join(Tenant, Tenant.id == AppUser.tenant_id)
        active = active.where(AppUser.id.in_(ids), _eligible(), active_user(now))
        async with self.db.connection() as conn:
            woken = [row.id for row in await conn.execute(active)]
            if woken:
                await conn.execute(
                    update(AppUser)
                    .where(AppUser.id.in_(woken))
                    .values(sync_now_requested=True, last_change_at=now)
                )
        return woken


def _of(tenant_id: int, user_id: int) -> tuple[Any, Any]:
    return (GraphSubscription.tenant_id == tenant_id, GraphSubscription.user_id == user_id)


def _drop(tenant_id: int, user_id: int) -> Any:
    return delete(GraphSubscription).where(*_of(tenant_id, user_id))


def _live(tenant_id: int, user_id: int, until: datetime | None) -> Any:
    return (
        update(AppUser)
        .where(AppUser.tenant_id == tenant_id, AppUser.id == user_id)
        .values(push_live_until=until)
    )
