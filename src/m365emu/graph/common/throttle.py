"""Outlook's throttling limits (concepts/throttling-limits.md; graph.md §6), per app id and
mailbox: at most 4 requests at once and 10,000 per 10 minutes. Past either limit the answer
is 429 `ApplicationThrottled` with `Retry-After`.

Undocumented, chosen here: the 10-minute window slides (each accepted request leaves it 10
minutes after it was made, by the emulator clock); refused requests do not count; a
concurrency refusal says `Retry-After: 1`; a rate refusal gives the seconds until the oldest
request in the window leaves it, to the millisecond (`2.128`, as throttling.md's sample).
The 150 MB upload limit is not emulated.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from m365emu.clock import EmulatorClock
from m365emu.graph.common.errors import throttled


class Throttle:
    def __init__(
        self,
        clock: EmulatorClock,
        concurrent: int = 4,
        per_window: int = 10_000,
        window: timedelta = timedelta(minutes=10),
    ) -> None:
        self._clock = clock
        self.concurrent = concurrent
        self.per_window = per_window
        self.window = window
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, str], int] = {}
        self._recent: dict[tuple[str, str], deque[datetime]] = {}

    @contextmanager
    def slot(self, app_id: str, mailbox: str) -> Iterator[None]:
        """Hold one of the app's concurrent slots on the mailbox, or raise the 429."""
        key = (app_id, mailbox)
        now = self._clock.now()
        with self._lock:
            if self._in_flight.get(key, 0) >= self.concurrent:
                raise throttled("Application is over its MailboxConcurrency limit.", 1)
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.per_window:
                wait = (recent[0] + self.window - now).total_seconds()
                raise throttled(
                    "Application is over its MailboxRequests limit.",
                    max(0.001, math.ceil(wait * 1000) / 1000),
                )
            recent.append(now)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1

    def reset(self) -> None:
        with self._lock:
            self._in_flight.clear()
            self._recent.clear()
