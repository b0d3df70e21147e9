"""The emulator's change notifications in one place (issue 19): the subscriptions, the
delivery worker, and the rules that tie them to event changes and to the clock.

- `event_changed` is a `GraphState` change listener: every change to a mailbox's events
  (Graph routes, `$batch`, the Outlook page) queues one changeNotificationCollection per
  subscription of that mailbox that wants the change type.
- `sweep(now)` runs on every worker tick with the emulator's clock:
  * an expired subscription is removed and delivers nothing more (Graph "deletes the
    subscription"; what was queued for it is cancelled);
  * `reauthorizationRequired` goes to the lifecycle URL when the subscription has less
    than an hour to live, then every 15 minutes (the docs' illustration:
    "reauthorizationRequired notification every 15 mins" in the last hour), and at once
    when the user's sessions are revoked after the subscription was authorized;
  * an unanswered challenge pauses change notifications after `REAUTH_GRACE` (the docs:
    "eventually change notification delivery pauses, until you take the required
    action"; the changes in between are lost). A renewal (PATCH) or `/reauthorize`
    answers it.
- `fire(subscription, event)` sends any lifecycle event now (control plane);
  `subscriptionRemoved` also removes the subscription.
- A change notification discarded after 4 hours of retries, or dropped by a throttled
  endpoint, sends `missed` (change-notifications-lifecycle-events.md).

Lifecycle notifications go only to subscriptions with a `lifecycleNotificationUrl`.
Not emulated: challenges tied to access-token lifetimes, rich notifications
(`includeResourceData`), the 1,000-subscriptions-per-mailbox limit.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from m365emu.clock import EmulatorClock
from m365emu.faults import FaultBook
from m365emu.graph.subscriptions.delivery import Delivery, DeliveryWorker
from m365emu.graph.subscriptions.handshake import VALIDATION_TIMEOUT_SECONDS
from m365emu.graph.subscriptions.models import Subscription, SubscriptionBook
from m365emu.graph.subscriptions.render import change_item, lifecycle_item
from m365emu.persistence import Persistence

EXPIRY_WARNING = timedelta(hours=1)
CHALLENGE_EVERY = timedelta(minutes=15)
REAUTH_GRACE = timedelta(minutes=10)

GrantLookup = Callable[[str, str], datetime | None]


def _no_revocation(tid: str, oid: str) -> datetime | None:
    return None


class ChangeNotifications:
    def __init__(
        self,
        clock: EmulatorClock,
        faults: FaultBook,
        persistence: Persistence | None = None,
        *,
        grant_valid_from: GrantLookup = _no_revocation,
        plain_http: Callable[[], bool] = lambda: False,
    ) -> None:
        self.clock = clock
        self.book = SubscriptionBook(persistence or Persistence(None))
        self.book.load()
        self.grant_valid_from = grant_valid_from
        self.plain_http = plain_http
        # The HTTP seam (STYLE 7): None sends over the network; tests hand in an
        # `httpx.ASGITransport` bound to the subscriber's app.
        self.transport: httpx.AsyncBaseTransport | None = None
        self.verify: ssl.SSLContext | str | bool = True
        self.worker = DeliveryWorker(clock, faults, self.client, self._lost, self.sweep)
        # Graph's 10 s for the validation answer (handshake.py); data, so tests shorten it.
        self.validation_timeout = VALIDATION_TIMEOUT_SECONDS
        self.handshakes: list[dict[str, Any]] = []
        # (mailbox key, event key, immutable?) → the id a notification names; the app
        # wires GraphState.public_id (outlook-immutable-id.md: "include the Prefer:
        # IdType="ImmutableId" header when creating a subscription").
        self.public_id: Callable[[str, str, bool], str] = lambda key, event_id, _: event_id

    def client(self, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport, verify=self.verify, timeout=timeout, follow_redirects=False
        )

    # -- changes ----------------------------------------------------------------------
    def event_changed(
        self, mailbox_key: str, change_type: str, event_id: str, change_key: str | None
    ) -> None:
        now = self.clock.now()
        for subscription in self.book.of_mailbox(mailbox_key):
            if not subscription.wants(change_type) or subscription.expiration <= now:
                continue
            if self._paused(subscription, now):
                self.worker.count("paused")
                continue
            shown = self.public_id(mailbox_key, event_id, subscription.immutable_ids)
            item = change_item(subscription, change_type, shown, change_key)
            self.worker.submit(subscription.notification_url, subscription.id, "change", [item])

    def _paused(self, subscription: Subscription, now: datetime) -> bool:
        challenged = subscription.challenged_at
        return challenged is not None and now - challenged >= REAUTH_GRACE

    # -- lifecycle --------------------------------------------------------------------
    def fire(self, subscription: Subscription, event: str) -> Delivery | None:
        """Send lifecycle `event` for `subscription` now (None: it has no lifecycle URL)."""
        delivery = None
        if subscription.lifecycle_url:
            item = lifecycle_item(subscription, event)
            delivery = self.worker.submit(
                subscription.lifecycle_url, subscription.id, "lifecycle", [item]
            )
        if event == "reauthorizationRequired" and subscription.challenged_at is None:
            self.book.update(subscription.id, challenged_at=self.clock.now())
        if event == "subscriptionRemoved":
            self.remove(subscription.id, keep_lifecycle=True)
        return delivery

    def authorized(self, subscription_id: str, now: datetime) -> None:
        """A renewal or `/reauthorize` succeeded: challenges are answered."""
        self.book.update(
            subscription_id, authorized_at=now, challenged_at=None, last_expiry_challenge=None
        )

    def remove(self, subscription_id: str, *, keep_lifecycle: bool = False) -> None:
        self.book.remove(subscription_id)
        self.worker.cancel(subscription_id, keep_lifecycle=keep_lifecycle)

    def _lost(self, delivery: Delivery) -> None:
        subscription = self.book.get(delivery.subscription_id)
        if delivery.kind == "change" and subscription is not None:
            self.fire(subscription, "missed")

    def sweep(self, now: datetime) -> None:
        for subscription in self.book.all():
            if subscription.expiration <= now:
                self.remove(subscription.id)
                continue
            revoked = self.grant_valid_from(*subscription.mailbox_key.split("/", 1))
            if (
                revoked is not None
                and revoked > subscription.authorized_at
                and subscription.challenged_at is None
            ):
                self.fire(subscription, "reauthorizationRequired")
                continue
            last = subscription.last_expiry_challenge
            if subscription.expiration - now <= EXPIRY_WARNING and (
                last is None or now - last >= CHALLENGE_EVERY
            ):
                self.book.update(subscription.id, last_expiry_challenge=now)
                if subscription.lifecycle_url:
                    item = lifecycle_item(subscription, "reauthorizationRequired")
                    self.worker.submit(
                        subscription.lifecycle_url, subscription.id, "lifecycle", [item]
                    )

    # -- control plane ----------------------------------------------------------------
    def reset(self) -> None:
        self.book.clear()
        self.worker.clear()
        self.handshakes.clear()

    def stats_json(self) -> dict[str, Any]:
        now = self.clock.now()
        subscriptions = [
            {
                "id": s.id,
                "mailbox": s.mailbox_key,
                "resource": s.resource,
                "changeType": ",".join(s.change_types),
                "notificationUrl": s.notification_url,
                "lifecycleNotificationUrl": s.lifecycle_url,
                "expirationDateTime": s.expiration.isoformat(),
                "authorized_at": s.authorized_at.isoformat(),
                "reauthorization_required": s.challenged_at is not None,
                "paused": self._paused(s, now),
            }
            for s in self.book.all()
        ]
        return {
            "subscriptions": subscriptions,
            "deliveries": self.worker.stats_json(),
            "handshakes": list(self.handshakes[-100:]),
        }
