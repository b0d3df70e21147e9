"""Injected faults (`POST /_emulator/faults`): the next calls to a route fail on purpose.

A fault matches a method (or `*`) and a path relative to the Graph base URL (`/me/events`)
or to the identity root (`/{tenant}/oauth2/v2.0/token`); `*` in a path matches one or more
characters. Each fault fires `count` times, then is gone. Kinds:

- `throttle`: 429 (or `status`) with `Retry-After: retry_after` (seconds, fractions kept as
  Graph writes them: throttling.md's sample says `Retry-After: 2.128`);
- `error`: `status` (default 503) with a Graph-shaped error;
- `timeout`: the server holds the request for `timeout_seconds`, then drops it unanswered
  (clients see their own timeout);
- `applied_then_timeout`: the request is applied, then the answer is dropped the same way.

Delivery faults act on Graph change notifications the emulator sends (issue 19; SPEC
"Microsoft 365 emulator"): their `path` matches the notification URL, either the whole
URL (`https://host/graph/notifications`, `*/graph/notifications`) or its path part alone
(`/graph/notifications`); `*`, the default when `path` is left out, matches every URL;
method `POST` or `*`. Each fires on one delivery attempt:

- `delay`: the notification leaves `delay_seconds` (real time) late;
- `drop`: the notification is never sent (lost, as Graph may lose one);
- `duplicate`: the notification is sent twice;
- `reorder`: the notification is held back and sent after the next one to the same URL
  (or after `delay_seconds`, default 5, if no other comes);
- `reject`: whatever the endpoint answers counts as a failure, so Graph retries later.

Request kinds and delivery kinds never consume each other's faults (`take(kinds=…)`).
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit


class FaultKind(StrEnum):
    THROTTLE = "throttle"
    ERROR = "error"
    TIMEOUT = "timeout"
    APPLIED_THEN_TIMEOUT = "applied_then_timeout"
    DELAY = "delay"
    DROP = "drop"
    DUPLICATE = "duplicate"
    REORDER = "reorder"
    REJECT = "reject"


REQUEST_KINDS = frozenset(
    {FaultKind.THROTTLE, FaultKind.ERROR, FaultKind.TIMEOUT, FaultKind.APPLIED_THEN_TIMEOUT}
)
DELIVERY_KINDS = frozenset(
    {FaultKind.DELAY, FaultKind.DROP, FaultKind.DUPLICATE, FaultKind.REORDER, FaultKind.REJECT}
)


@dataclass
class Fault:
    method: str
    path: str
    kind: FaultKind
    status: int = 503
    retry_after: float = 1
    count: int = 1
    timeout_seconds: float = 30.0
    delay_seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        """`path` is a request's path, or a delivery's notification URL: a delivery
        fault matches the whole URL or the URL's path part (SPEC "Microsoft 365
        emulator": delivery faults through `faults`)."""
        if self.method not in ("*", method.upper()):
            return False
        pattern = self.path.rstrip("/") or "/"
        candidates = [path]
        if self.kind in DELIVERY_KINDS and "://" in path:
            part = urlsplit(path).path
            candidates += [part, part.lstrip("/")]  # `/graph/notifications` or without `/`
        return any(fnmatch.fnmatchcase(c.rstrip("/") or "/", pattern) for c in candidates)


def retry_after_header(seconds: float) -> str:
    """`Retry-After` as Graph writes it: whole seconds as `7`, fractions to the millisecond
    as `2.128` (throttling.md's sample response)."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


class FaultBook:
    """The armed faults, consumed one match at a time (thread-safe)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: dict[str, int] = {}

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(
        self, method: str, path: str, kinds: frozenset[FaultKind] = REQUEST_KINDS
    ) -> Fault | None:
        """The first armed fault of `kinds` matching this request, consuming one shot."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    self.fired[fault.kind] = self.fired.get(fault.kind, 0) + 1
                    return fault
        return None
