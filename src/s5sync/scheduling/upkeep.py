"""The subscription manager (R14b, R19b): keeps one Graph subscription per active user.

Every sweep (the local scheduler's loop, or a periodic task on procrastinate) asks the
store what is to do (`SubscriptionRows.upkeep`) and does it, user by user:

- **create** for an active user (R14: onboarded, token valid, heartbeat or background
  sync) without one: a fresh random client state (sealed in the row, R22), the longest
  lifetime Graph allows, a renewal time spread over users (`renewals.renew_at`), then a
  cycle for the user (changes made before the subscription existed are caught up). A
  refused creation is recorded with its retry time (`SubscriptionRows.create_failed`:
  the health page and the dashboard say why; no sweep tries before `CREATE_RETRY`);
- **renew** when due (or at once after `reauthorizationRequired`): a 404 means Graph
  removed it (drop the row: the next sweep makes a new one), `NeedsSignIn` means the
  grant is revoked (R19b: the user is listed "sign in again", nobody else is touched),
  anything else is tried again with back-off (`renewals.retry_at`);
- **delete** when the user has been inactive for a day, is unmapped, or must sign in
  again (the row goes even if Graph cannot be told: an unknown subscription's
  notifications are ignored, and Graph drops it at expiry).

Without a public URL (`Push.off`), or once Graph could not validate ours
(`EndpointUnreachable`), nothing is created: users are polled every `interval` as
before, and `status` says why for the health page. Creation is tried again after
`RETRY_UNREACHABLE`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from s5sync.outlook.errors import NeedsSignIn, OutlookError
from s5sync.outlook.subscriptions import (
    LIFETIME,
    EndpointUnreachable,
    SubscriptionGateway,
    SubscriptionGone,
    SubscriptionRequest,
)
from s5sync.scheduling.renewals import renew_at, retry_at
from s5sync.store.subscriptions import SubscriptionRows, Upkeep

log = logging.getLogger(__name__)

RETRY_UNREACHABLE = timedelta(minutes=5)
CREATE_RETRY = timedelta(minutes=5)  # a user whose creation failed waits this long

GatewayFor = Callable[[Upkeep], AbstractAsyncContextManager[SubscriptionGateway]]


@dataclass(frozen=True)
class Push:
    """Where Graph delivers notifications, or why it cannot (`S5SYNC_PUBLIC_URL`)."""

    notification_url: str | None
    lifecycle_url: str | None
    off_reason: str = ""

    @classmethod
    def at(cls, public_url: str) -> Push:
        base = public_url.rstrip("/")
        return cls(f"{base}/graph/notifications", f"{base}/graph/lifecycle")

    @classmethod
    def off(cls, reason: str) -> Push:
        return cls(None, None, reason)


@dataclass
class UpkeepReport:
    created: int = 0
    renewed: int = 0
    deleted: int = 0
    failed: int = 0


@dataclass
class SubscriptionManager:
    rows: SubscriptionRows
    gateway_for: GatewayFor
    push: Push
    clock: Callable[[], datetime]
    wake: Callable[[list[int]], Awaitable[None]]
    token: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(32))
    unreachable_since: datetime | None = None
    # One sweep at a time in a process (the push loop, a lifecycle's sweep, a tool's):
    # two at once would both see a user without a subscription and make two.
    _sweeping: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def off_reason(self) -> str | None:
        """Why this deployment subscribes nobody now, or None when it can (R14b)."""
        if self.push.notification_url is None:
            return self.push.off_reason
        if self.unreachable_since is not None:
            return (
                f"Microsoft Graph could not reach {self.push.notification_url} "
                f"(since {self.unreachable_since:%H:%M} UTC)"
            )
        return None

    @property
    def status(self) -> str:
        """For `/healthz`: push is on, or why users are polled instead."""
        off = self.off_reason
        if off is not None:
            return f"Polling every interval: {off}"
        return "Live: changes arrive by Graph change notifications"

    def creating(self, now: datetime) -> bool:
        if self.push.notification_url is None:
            return False
        if self.unreachable_since is None:
            return True
        return now - self.unreachable_since >= RETRY_UNREACHABLE

    async def sweep(self) -> UpkeepReport:
        async with self._sweeping:
            return await self._sweep()

    async def _sweep(self) -> UpkeepReport:
        now = self.clock()
        report = UpkeepReport()
        created: list[int] = []
        for work in await self.rows.upkeep(now, creating=self.creating(now)):
            try:
                if work.action == "renew":
                    report.renewed += await self._renew(work, now)
                elif work.action == "delete":
                    await self._delete(work)
                    report.deleted += 1
                elif self.creating(now) and await self._create(work, now):
                    created.append(work.user_id)
                    report.created += 1
            except OutlookError as error:
                # R23: one user's trouble never stops the sweep.
                report.failed += 1
                log.warning(
                    "subscriptions.failed",
                    extra={"user_id": work.user_id, "action": work.action, "error": str(error)},
                )
        if created:
            await self.wake(created)  # catch up what changed before the subscription
        return report

    async def _create(self, work: Upkeep, now: datetime) -> bool:
        assert self.push.notification_url is not None
        assert self.push.lifecycle_url is not None
        secret = self.token()
        request = SubscriptionRequest(
            self.push.notification_url, self.push.lifecycle_url, secret, now + LIFETIME
        )
        try:
            async with self.gateway_for(work) as gateway:
                made = await gateway.create(request)
        except EndpointUnreachable as error:
            self.unreachable_since = now
            log.warning("subscriptions.endpoint_unreachable")
            # Said per user too: on procrastinate a worker met it, not the web process.
            await self.rows.create_failed(
                work.tenant_id,
                work.user_id,
                error=f"notification URL unreachable: {error}",
                retry_at=now + RETRY_UNREACHABLE,
            )
            return False
        except NeedsSignIn as error:
            await self.rows.needs_sign_in(work.tenant_id, work.user_id, str(error))
            return False
        except OutlookError as error:
            # Recorded, so the health page and the dashboard say why and when it is
            # tried again — and no worker's sweep tries before then.
            await self.rows.create_failed(
                work.tenant_id, work.user_id, error=str(error), retry_at=now + CREATE_RETRY
            )
            raise
        self.unreachable_since = None
        await self.rows.saved(
            work.tenant_id,
            work.user_id,
            subscription_id=made.subscription_id,
            client_state=secret,
            expires_at=made.expires_at,
            renew_at=renew_at(now, made.expires_at, work.user_id),
            now=now,
        )
        log.info("subscriptions.created", extra={"user_id": work.user_id})
        return True

    async def _renew(self, work: Upkeep, now: datetime) -> int:
        assert work.subscription_id is not None
        assert work.expires_at is not None
        try:
            async with self.gateway_for(work) as gateway:
                made = await gateway.renew(work.subscription_id, now + LIFETIME)
        except SubscriptionGone:
            await self.rows.dropped(work.tenant_id, work.user_id)
            return 0
        except NeedsSignIn as error:
            # R19b: this user only; the row goes, the health page lists them.
            await self.rows.needs_sign_in(work.tenant_id, work.user_id, str(error))
            return 0
        except OutlookError as error:
            failures = work.failures + 1
            await self.rows.failed(
                work.tenant_id,
                work.user_id,
                error=str(error),
                retry_at=retry_at(now, work.expires_at, failures),
            )
            raise
        await self.rows.renewed(
            work.tenant_id,
            work.user_id,
            expires_at=made.expires_at,
            renew_at=renew_at(now, made.expires_at, work.user_id),
            now=now,
        )
        return 1

    async def _delete(self, work: Upkeep) -> None:
        assert work.subscription_id is not None
        try:
            async with self.gateway_for(work) as gateway:
                await gateway.delete(work.subscription_id)
        except OutlookError:
            pass  # Graph drops it at expiry; its notifications are unknown to us now
        finally:
            await self.rows.dropped(work.tenant_id, work.user_id)

    async def forget(self, tenant_id: int, user_id: int) -> None:
        """Sign-out: the subscription is deleted now (while the token still works)."""
        work = await self.rows.upkeep_of(tenant_id, user_id)
        if work is not None:
            await self._delete(work)


async def no_wake(_users: list[int]) -> None:
    """For tools that sweep without a scheduler."""
