"""Typed state of Graph change-notification subscriptions (resources/subscription.md),
knowing no HTTP, written through `Persistence` like every other resource (issue 19).

A `Subscription` watches one mailbox's events (`me/events` or `users/{id}/events`, the
resources Outlook documents for events in outlook-change-notifications-overview.md) for
some of `created`, `updated`, `deleted`. `SubscriptionBook` keeps them by id; the
notification hub (hub.py) decides when they expire or need reauthorizing.

Wire facts (microsoft-graph-docs-contrib, checked for issue 19):
- `clientState` is at most 128 characters (subscription.md);
- `lifecycleNotificationUrl` can only be set at creation (change-notifications-lifecycle-
  events.md: "You also can't add the lifecycleNotificationUrl property … by updating");
- `latestSupportedTlsVersion` is one of v1_0…v1_3 and defaults to `v1_2`;
- `expirationDateTime` is required, in the future, and at most `OUTLOOK_MAX_MINUTES`
  ahead for Outlook events without resource data. Microsoft's current "Subscription
  lifetime" table gives 10,080 minutes (under 7 days; the project's graph.md, learn,
  Apr 2026); older copies of the same table said 4,230 minutes. The emulator follows the
  current table.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from m365emu.persistence import Persistence

SUBSCRIPTION_DOC = "graph.subscription"
OUTLOOK_MAX_MINUTES = 10_080
CLIENT_STATE_MAX = 128
CHANGE_TYPES = ("created", "updated", "deleted")
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


@dataclass
class Subscription:
    id: str
    mailbox_key: str  # "<tid>/<oid>" of the subscribed (and subscribing) user
    tenant_id: str
    creator_id: str
    application_id: str
    resource: str  # as the client wrote it, echoed back
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    tls_version: str
    notification_url_app_id: str | None
    authorized_at: datetime  # created, renewed or reauthorized
    # When a reauthorizationRequired challenge went out unanswered (None: authorized).
    challenged_at: datetime | None = None
    last_expiry_challenge: datetime | None = None
    # Created with Prefer: IdType="ImmutableId": notifications name immutable ids.
    immutable_ids: bool = False

    def wants(self, change_type: str) -> bool:
        return change_type in self.change_types

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["change_types"] = list(self.change_types)
        for name in ("expiration", "authorized_at", "challenged_at", "last_expiry_challenge"):
            value = getattr(self, name)
            doc[name] = value.isoformat() if value is not None else None
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Subscription:
        values = dict(doc)
        values["change_types"] = tuple(doc["change_types"])
        for name in ("expiration", "authorized_at", "challenged_at", "last_expiry_challenge"):
            raw = doc.get(name)
            values[name] = datetime.fromisoformat(raw) if raw else None
        return cls(**values)


@dataclass
class SubscriptionBook:
    """Every live subscription by id, written through on each change (thread-safe)."""

    persistence: Persistence
    _items: dict[str, Subscription] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        for key, doc in self.persistence.load_all(SUBSCRIPTION_DOC).items():
            self._items[key] = Subscription.from_doc(doc)

    def save(self, subscription: Subscription) -> None:
        with self._lock:
            self._items[subscription.id] = subscription
            self.persistence.save(SUBSCRIPTION_DOC, subscription.id, subscription.to_doc())

    def update(self, subscription_id: str, **changes: Any) -> Subscription | None:
        with self._lock:
            current = self._items.get(subscription_id)
            if current is None:
                return None
            changed = replace(current, **changes)
            self._items[subscription_id] = changed
            self.persistence.save(SUBSCRIPTION_DOC, subscription_id, changed.to_doc())
            return changed

    def remove(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            gone = self._items.pop(subscription_id, None)
            if gone is not None:
                self.persistence.delete(SUBSCRIPTION_DOC, subscription_id)
            return gone

    def get(self, subscription_id: str) -> Subscription | None:
        return self._items.get(subscription_id)

    def all(self) -> list[Subscription]:
        with self._lock:
            return list(self._items.values())

    def of_mailbox(self, mailbox_key: str) -> list[Subscription]:
        return [s for s in self.all() if s.mailbox_key == mailbox_key]

    def clear(self) -> None:
        with self._lock:
            for key in list(self._items):
                self.persistence.delete(SUBSCRIPTION_DOC, key)
            self._items.clear()
