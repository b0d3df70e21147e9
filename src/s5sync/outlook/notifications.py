"""What arrives at `/graph/notifications` and `/graph/lifecycle` (R14b, R22).

Follows learn.microsoft.com "Receive change notifications through webhooks" and
"Reduce missing subscriptions and change notifications":

- the **validation handshake**: Graph POSTs `?validationToken=…`; the answer is 200
  `text/plain` with the URL-decoded token alone, within 10 s (`validation_answer`);
- a **changeNotificationCollection** (`{"value": [...]}`): each item names its
  `subscriptionId`, carries the `clientState` we gave and the `tenantId`; lifecycle items
  carry `lifecycleEvent` (`reauthorizationRequired`, `subscriptionRemoved`, `missed`).

`NotificationIntake.accept` checks every item before anything happens: the subscription
must be ours (`lookup`), the client state equal to its secret (compared in constant
time), the tenant the subscription's store's. A forged, unknown, foreign or repeated
item changes nothing and is counted (`count(result)` → `/metrics`). An accepted change
only records "this user changed" (`changed(user_id)`, coalesced by `WakeUps`) — never a
cycle inline — so the answer (202) leaves within Graph's 3 s whatever the load. Lookups
are cached (a subscription's secret never changes; unknown ids are remembered briefly,
so a flood of made-up ids costs no database reads), for about a minute, spread by id;
concurrent notifications of a subscription whose key is not cached share one read.
Nothing here logs a client state.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from s5sync.store.subscriptions import SubscriptionKey

MAX_BODY = 1 << 20  # bytes; Graph batches notifications, never megabytes of them
MAX_ITEMS = 1000
MAX_TOKEN = 4096
CACHE_SECONDS = 60.0
CACHE_SIZE = 50_000
SEEN_SIZE = 50_000
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})

# What `count` is called with (the `result` label of s5sync_graph_notifications_total).
RESULTS = (
    "accepted",
    "duplicate",
    "unknown",
    "forged",
    "wrong_tenant",
    "malformed",
    "too_large",
    "rate_limited",
)


def validation_answer(token: str) -> str | None:
    """The handshake's answer body: the token itself, or None for a token that cannot
    be one (too long, control characters) — never anything else echoed."""
    if not token or len(token) > MAX_TOKEN or any(ord(c) < 32 for c in token):
        return None
    return token


@dataclass(frozen=True)
class Lifecycle:
    """An accepted lifecycle notification for one user's subscription."""

    key: SubscriptionKey
    event: str


class Bucket:
    """A token bucket: at most `rate` requests a second, bursts up to `burst`."""

    def __init__(
        self, rate: float, burst: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.monotonic = rate, burst, monotonic
        self.level, self.at = burst, monotonic()

    def take(self) -> bool:
        now = self.monotonic()
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < 1:
            return False
        self.level -= 1
        return True


class _Lru(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class NotificationIntake:
    """Checks notifications and hands on what is genuine."""

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[SubscriptionKey | None]],
        changed: Callable[[int], None],
        lifecycle: Callable[[Lifecycle], Awaitable[None]],
        count: Callable[[str], None],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        rate: float = 5000.0,
    ) -> None:
        self._lookup = lookup
        self.changed = changed
        self.lifecycle = lifecycle
        self.count = count
        self.monotonic = monotonic
        self.bucket = Bucket(rate, rate, monotonic)
        self._keys: _Lru = _Lru(CACHE_SIZE)  # id -> (kept until, key or None)
        self._reading: dict[str, asyncio.Future[SubscriptionKey | None]] = {}
        self._seen: _Lru = _Lru(SEEN_SIZE)

    def admit(self) -> bool:
        """The rate bound, checked before the body is read."""
        if self.bucket.take():
            return True
        self.count("rate_limited")
        return False

    async def key(self, subscription_id: str) -> SubscriptionKey | None:
        cached = self._keys.get(subscription_id)
        if cached is not None and self.monotonic() < cached[0]:
            found: SubscriptionKey | None = cached[1]
            return found
        reading = self._reading.get(subscription_id)
        if reading is None:  # one read for every notification waiting on this id
            reading = asyncio.ensure_future(self._read(subscription_id))
            self._reading[subscription_id] = reading
        return await asyncio.shield(reading)

    async def _read(self, subscription_id: str) -> SubscriptionKey | None:
        try:
            key = await self._lookup(subscription_id)
        finally:
            self._reading.pop(subscription_id, None)
        # Kept 45–75 s, spread by id: keys read together (a cold start, a burst) are not
        # all read again together a minute later.
        spread = 0.75 + 0.5 * (zlib.crc32(subscription_id.encode()) % 1000) / 1000
        self._keys.put(subscription_id, (self.monotonic() + CACHE_SECONDS * spread, key))
        return key

    def forget(self, subscription_id: str) -> None:
        self._keys.pop(subscription_id, None)

    async def accept(self, body: bytes, *, lifecycle: bool) -> int:
        """The HTTP status to answer: 202 once the genuine items are handed on, 400
        for a body that is not a notification collection, 413 for one too large."""
        if len(body) > MAX_BODY:
            self.count("too_large")
            return 413
        items = _items(body)
        if items is None:
            self.count("malformed")
            return 400
        for item in items:
            await self._one(item, lifecycle)
        return 202

    async def _one(self, item: Any, lifecycle: bool) -> None:
        if not isinstance(item, dict):
            self.count("malformed")
            return
        sub_id, state = item.get("subscriptionId"), item.get("clientState")
        if not isinstance(sub_id, str) or not isinstance(state, str) or len(sub_id) > 128:
            self.count("malformed")
            return
        key = await self.key(sub_id)
        if key is None:
            self.count("unknown")
            return
        if not hmac.compare_digest(state.encode(), key.client_state.encode()):
            self.count("forged")
            return
        if item.get("tenantId") != key.ms_tenant_id:
            self.count("wrong_tenant")
            return
        event = item.get("lifecycleEvent")
        if lifecycle or event is not None:
            if event not in LIFECYCLE_EVENTS:
                self.count("malformed")
                return
            self.count("accepted")
            await self.lifecycle(Lifecycle(key, str(event)))
            return
        if self._repeated(sub_id, item):
            self.count("duplicate")
            return
        self.count("accepted")
        self.changed(key.user_id)

    def _repeated(self, sub_id: str, item: dict[str, Any]) -> bool:
        """The same change delivered again (Graph retries, or a replay): same
        subscription, change type, resource and etag. Without an etag nothing is
        treated as repeated (a second real change must never be lost)."""
        data = item.get("resourceData")
        etag = data.get("@odata.etag") if isinstance(data, dict) else None
        if not isinstance(etag, str):
            return False
        mark = json.dumps([sub_id, item.get("changeType"), item.get("resource"), etag])
        if mark in self._seen:
            return True
        self._seen.put(mark, True)
        return False


def _items(body: bytes) -> list[Any] | None:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("value"), list):
        return None
    value: list[Any] = parsed["value"]
    return value if len(value) <= MAX_ITEMS else None
