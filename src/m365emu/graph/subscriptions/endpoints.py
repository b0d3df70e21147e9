"""Slow notification endpoints, as Graph judges them (change-notifications-delivery-
webhooks.md, "Throttling"; issue 19): an answer after 2.9 s is slow; once an endpoint (the
URL's scheme, host and path) has had 100 notifications in the current 10-minute window,
10 % slow answers throttle it (its notifications wait 10 minutes) and 15 % drop them.
Windows are timed by the emulator's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

SLOW_SECONDS = 2.9
THROTTLE_WINDOW = timedelta(minutes=10)
THROTTLE_AFTER = 100
SLOW_THROTTLE, SLOW_DROP = 0.10, 0.15


@dataclass
class _Window:
    started: datetime
    total: int = 0
    slow: int = 0


class EndpointHealth:
    """Slow answers per endpoint (scheme, host and path of the URL) in 10-minute windows."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    @staticmethod
    def endpoint(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    def _window(self, url: str, now: datetime) -> _Window:
        key = self.endpoint(url)
        window = self._windows.get(key)
        if window is None or now - window.started >= THROTTLE_WINDOW:
            window = self._windows[key] = _Window(now)
        return window

    def record(self, url: str, seconds: float, now: datetime) -> None:
        window = self._window(url, now)
        window.total += 1
        window.slow += seconds > SLOW_SECONDS

    def verdict(self, url: str, now: datetime) -> str:
        window = self._window(url, now)
        if window.total < THROTTLE_AFTER:
            return "ok"
        share = window.slow / window.total
        return "drop" if share >= SLOW_DROP else "throttle" if share >= SLOW_THROTTLE else "ok"

    def clear(self) -> None:
        self._windows.clear()
