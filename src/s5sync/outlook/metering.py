"""Request accounting and the per-mailbox concurrency cap (R23b, DESIGN.md "Requests per
cycle: the minimum").

`RequestCounter` counts every HTTP request the Graph client sends, by (method, route
kind, status); the cycle copies `total` into its `sync_run` row and `/metrics` renders
`by_key`. Batch items are counted apart: Outlook throttles them one by one, but they cost
no extra round trip.

`MailboxSlots` is a weighted semaphore of 4 per mailbox (Outlook allows 4 concurrent
requests per app and mailbox, learn.microsoft.com/graph/throttling-limits). A `$batch`
takes all 4 slots, because Outlook runs a batch's items 4 at a time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

MAILBOX_SLOTS = 4

RouteKey = tuple[str, str, str]  # (method, route kind, status or "timeout"/"error")


def route_kind(url: str) -> str:
    """A low-cardinality name for a Graph URL: ids, tokens and queries are dropped."""
    # The path without query or fragment (`urlsplit(url).path`, cheaper: a delta link is
    # long and read every cycle); a scheme and host before it cannot hold "/me/".
    path = url.partition("?")[0].partition("#")[0]
    marker = path.find("/me/")
    if path.endswith("/$batch"):
        return "$batch"
    if marker < 0:
        return "other"
    parts = path[marker + 1 :].split("/")
    if parts[:3] == ["me", "calendarView", "delta"]:
        return "calendarView/delta"
    if parts[:2] == ["me", "calendarView"]:
        return "calendarView"
    if parts[:3] == ["me", "outlook", "masterCategories"]:
        return "masterCategories"
    if parts[:2] == ["me", "events"]:
        return "events" if len(parts) == 2 else "events/{id}"
    return "me/" + parts[1] if len(parts) > 1 else "me"


class RequestCounter:
    """Every request of one or more cycles, by (method, route kind, status)."""

    def __init__(self) -> None:
        self.by_key: Counter[RouteKey] = Counter()
        self.batch_items: Counter[RouteKey] = Counter()

    def record(self, method: str, url: str, status: int | str) -> None:
        self.by_key[(method.upper(), route_kind(url), str(status))] += 1

    def record_item(self, method: str, url: str, status: int | str) -> None:
        self.batch_items[(method.upper(), route_kind(url), str(status))] += 1

    @property
    def total(self) -> int:
        """HTTP round trips sent, whatever their answer."""
        return sum(self.by_key.values())

    def count(self, method: str | None = None, route: str | None = None) -> int:
        return sum(
            n
            for (m, r, _), n in self.by_key.items()
            if (method is None or m == method) and (route is None or r == route)
        )

    def reset(self) -> None:
        self.by_key.clear()
        self.batch_items.clear()


class MailboxSlots:
    """A weighted semaphore: at most `capacity` requests in flight for one mailbox."""

    def __init__(self, capacity: int = MAILBOX_SLOTS) -> None:
        self.capacity = capacity
        self._used = 0
        self._waiting = 0  # tasks waiting for slots
        self._changed = asyncio.Condition()
        self.high_water = 0

    @asynccontextmanager
    async def hold(self, weight: int = 1) -> AsyncIterator[None]:
        """Free slots are taken at once (no await between the check and the take, so no
        other task interleaves); the condition is only entered to wait or to wake."""
        weight = min(weight, self.capacity)
        if self._waiting or self._used + weight > self.capacity:
            async with self._changed:
                self._waiting += 1
                try:
                    await self._changed.wait_for(lambda: self._used + weight <= self.capacity)
                finally:
                    self._waiting -= 1
                self._used += weight
        else:
            self._used += weight
        self.high_water = max(self.high_water, self._used)
        try:
            yield
        finally:
            self._used -= weight
            if self._waiting:
                async with self._changed:
                    self._changed.notify_all()
