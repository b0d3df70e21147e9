"""Graph change notifications for the reliability machine (issue 19; R14b, R16, R17).

The in-process emulator of the machine's stack delivers its notifications (with the
delivery faults armed on it: drop, duplicate, reorder, delay) to the product's own
`/graph/notifications` routes and `NotificationIntake`, mounted through the ASGI
transport. The intake's "this user changed" is recorded: the machine runs the woken
users' cycles (a notification is a hint; the cycle reads the delta). Each account is
subscribed through the product's Graph adapter (`GraphSubscriptions`) — the handshake
included — and subscribed again when the emulator's clock has let it expire.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI

from s5sync.entrypoints.web.graph_routes import install_graph_routes
from s5sync.outlook.errors import OutlookError
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.notifications import Lifecycle, NotificationIntake
from s5sync.outlook.session import GraphSession
from s5sync.outlook.subscriptions import GraphSubscriptions, SubscriptionRequest
from s5sync.outlook.transport import HttpxTransport
from s5sync.store.subscriptions import SubscriptionKey
from support.reliability_stack import MS_TENANT, Account, RefreshTokens, Stack

URL = "http://push.reliability.test"
LIFETIME = timedelta(days=3)


class Notifications:
    """The machine's notification endpoint and the accounts' subscriptions."""

    def __init__(self, stack: Stack) -> None:
        hub = stack.emulator.notifications
        assert hub is not None
        self.hub = hub
        self.stack = stack
        stack.emulator.plain_http_notifications = True  # loopback, as the demo does
        self.keys: dict[str, SubscriptionKey] = {}
        self.of_user: dict[int, str] = {}
        self.woken: set[int] = set()  # by change notifications
        self.caught_up: set[int] = set()  # by `missed` / `subscriptionRemoved`
        self.results: Counter[str] = Counter()
        self.intake = NotificationIntake(self._lookup, self.woken.add, self._lifecycle, self._count)
        app = FastAPI()
        install_graph_routes(app, self.intake)
        hub.transport = httpx.ASGITransport(app=app)

    def _count(self, result: str) -> None:
        self.results[result] += 1

    async def _lookup(self, subscription_id: str) -> SubscriptionKey | None:
        return self.keys.get(subscription_id)

    async def _lifecycle(self, event: Lifecycle) -> None:
        if event.event != "reauthorizationRequired":  # missed / removed: catch up
            self.caught_up.add(event.key.user_id)

    def _alive(self, subscription_id: str | None, now: datetime) -> bool:
        found = self.hub.book.get(subscription_id) if subscription_id else None
        # Expired, or challenged after a revoked sign-in (R19b): subscribe afresh.
        return found is not None and found.expiration > now and found.challenged_at is None

    async def ensure(self, account: Account) -> None:
        """The account's subscription exists on the emulator (made again once expired);
        an account whose sign-in is revoked stays unsubscribed (R19b)."""
        user_id = account.record.id
        if self._alive(self.of_user.get(user_id), self.stack.now):
            return
        secret = secrets.token_urlsafe(24)
        session = GraphSession(
            HttpxTransport(self.stack.http),
            RefreshTokens(self.stack.http, account),
            counter=RequestCounter(),
        )
        request = SubscriptionRequest(
            f"{URL}/graph/notifications",
            f"{URL}/graph/lifecycle",
            secret,
            self.stack.now + LIFETIME,
        )
        try:
            made = await GraphSubscriptions(session).create(request)
        except OutlookError:
            return
        key = SubscriptionKey(
            self.stack.tenant.id, MS_TENANT, user_id, made.subscription_id, secret
        )
        self.keys[made.subscription_id] = key
        self.of_user[user_id] = made.subscription_id

    def intake_results(self) -> Counter[str]:
        """What the intake counted (accepted, duplicate, forged …) so far."""
        return self.results

    def changed_users(self) -> set[int]:
        """The users with change notifications due for delivery."""
        now = self.stack.emulator.clock.now()
        return {
            self.keys[d.subscription_id].user_id
            for d in self.hub.worker.pending()
            if d.kind == "change" and d.subscription_id in self.keys and d.due <= now
        }

    async def deliver(self) -> tuple[set[int], set[int]]:
        """Deliver what is due: the users woken by change notifications, and those told
        to catch up by a lifecycle notification."""
        self.woken.clear()
        self.caught_up.clear()
        async with self.hub.worker.running():
            # Let the worker's loop start before anything can stop it (a stop that comes
            # first is undone by its start, and the worker would run on).
            await asyncio.sleep(0.01)
            await self.hub.worker.settle()
        return set(self.woken), set(self.caught_up)
