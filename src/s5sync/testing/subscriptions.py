"""An in-memory Graph subscriptions service (the `SubscriptionGateway` fake, R14b).

`FakeSubscriptionService` holds every user's subscriptions as Graph would, with a clock
of its own; `gateway(object_id)` is one user's `SubscriptionGateway`. Knobs as data:
`unreachable` (the validation handshake fails), `revoked` (the user's grant is gone:
every call raises `NeedsSignIn`), `refusing` (Graph answers a user's create 403), and
`remove(id)` (Graph dropped it: the next renewal
is a 404). It records the calls so tests can count requests, never to assert on them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from s5sync.outlook.errors import GraphRejected, NeedsSignIn
from s5sync.outlook.subscriptions import (
    MAX_LIFETIME,
    EndpointUnreachable,
    Subscribed,
    SubscriptionGone,
    SubscriptionRequest,
)


@dataclass
class FakeSubscription:
    id: str
    object_id: str
    request: SubscriptionRequest
    expires_at: datetime


@dataclass
class FakeSubscriptionService:
    clock: Callable[[], datetime]
    subscriptions: dict[str, FakeSubscription] = field(default_factory=dict)
    unreachable: bool = False
    revoked: set[str] = field(default_factory=set)
    refusing: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def gateway(self, object_id: str) -> FakeSubscriptionGateway:
        return FakeSubscriptionGateway(self, object_id)

    def of(self, object_id: str) -> list[FakeSubscription]:
        return [s for s in self.subscriptions.values() if s.object_id == object_id]

    def remove(self, subscription_id: str) -> None:
        self.subscriptions.pop(subscription_id, None)

    def expire(self) -> None:
        """Graph deletes what has expired."""
        now = self.clock()
        for sub in list(self.subscriptions.values()):
            if sub.expires_at <= now:
                del self.subscriptions[sub.id]


@dataclass
class FakeSubscriptionGateway:
    service: FakeSubscriptionService
    object_id: str

    def _check(self, call: str) -> None:
        self.service.calls.append((call, self.object_id))
        if self.object_id in self.service.revoked:
            raise NeedsSignIn("invalid_grant")

    def _limit(self, expires_at: datetime) -> None:
        now = self.service.clock()
        if expires_at <= now or expires_at > now + MAX_LIFETIME:
            raise GraphRejected("expirationDateTime out of range", status=400)

    async def create(self, request: SubscriptionRequest) -> Subscribed:
        self._check("create")
        self._limit(request.expires_at)
        if self.service.unreachable:
            raise EndpointUnreachable("validation failed", status=400)
        if self.object_id in self.service.refusing:
            raise GraphRejected("Graph answered 403: Forbidden", status=403)
        sub_id = f"sub-{next(self.service._ids)}"
        self.service.subscriptions[sub_id] = FakeSubscription(
            sub_id, self.object_id, request, request.expires_at
        )
        return Subscribed(sub_id, request.expires_at)

    async def renew(self, subscription_id: str, expires_at: datetime) -> Subscribed:
        self._check("renew")
        self.service.expire()
        sub = self.service.subscriptions.get(subscription_id)
        if sub is None or sub.object_id != self.object_id:
            raise SubscriptionGone("gone", status=404)
        self._limit(expires_at)
        sub.expires_at = expires_at
        return Subscribed(subscription_id, expires_at)

    async def delete(self, subscription_id: str) -> None:
        self._check("delete")
        sub = self.service.subscriptions.get(subscription_id)
        if sub is not None and sub.object_id == self.object_id:
            del self.service.subscriptions[subscription_id]
