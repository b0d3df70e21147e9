"""Request statistics (`GET /_emulator/stats`): counts per mailbox and route, the
highest number of requests ever in flight per mailbox (R23b's "never more than 4"), and
the requests that did not ask for immutable ids (`default_id_requests`: a client that
stores ids must send `Prefer: IdType="ImmutableId"` on every one, outlook-immutable-id.md)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class RequestStats:
    """Counters shared by every Graph route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()  # (mailbox, "METHOD route")
        self.in_flight: Counter[str] = Counter()
        self.default_ids: Counter[tuple[str, str]] = Counter()  # same keys as `requests`
        self.high_water: dict[str, int] = {}

    def count(self, mailbox: str, method: str, route: str) -> None:
        with self._lock:
            self.requests[(mailbox, f"{method.upper()} {route}")] += 1

    def count_default_ids(self, mailbox: str, method: str, route: str) -> None:
        with self._lock:
            self.default_ids[(mailbox, f"{method.upper()} {route}")] += 1

    @contextmanager
    def flight(self, mailbox: str, weight: int = 1) -> Iterator[int]:
        """Track a request (or a batch item) in flight; yields the count including it."""
        with self._lock:
            self.in_flight[mailbox] += weight
            now = self.in_flight[mailbox]
            self.high_water[mailbox] = max(self.high_water.get(mailbox, 0), now)
        try:
            yield now
        finally:
            with self._lock:
                self.in_flight[mailbox] -= weight

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.default_ids.clear()
            self.in_flight.clear()
            self.high_water.clear()

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            by_mailbox: dict[str, dict[str, int]] = {}
            for (mailbox, route), n in self.requests.items():
                by_mailbox.setdefault(mailbox, {})[route] = n
            default_ids: dict[str, dict[str, int]] = {}
            for (mailbox, route), n in self.default_ids.items():
                default_ids.setdefault(mailbox, {})[route] = n
            return {
                "requests": by_mailbox,
                "default_id_requests": default_ids,
                "total": sum(self.requests.values()),
                "max_in_flight": dict(self.high_water),
            }
