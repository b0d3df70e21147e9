"""One user's HTTP conversation with Microsoft Graph: auth, Prefer headers, retries, limits.

Every request of the Graph adapter goes through `GraphSession.request`, which
- adds the bearer token and, on a 401, refreshes it once (`force_refresh`) before giving up;
- sends `Prefer: IdType="ImmutableId"` (ids survive moves, learn.microsoft.com/graph/
  outlook-immutable-id), `outlook.timezone="UTC"` and `outlook.body-content-type="text"`
  on every call, so that every read of an event — delta, GET, lookup, a write's answer —
  has the same shape and s5sync's event hash is stable (R17);
- honours `Retry-After` on 429 and 503 (R23b); a wait longer than `max_wait` (or past the
  cycle's deadline) raises `Throttled(retry_at)` so the cycle ends and comes back then;
- retries other transient failures (5xx, 408, timeouts, dropped connections) with
  bounded exponential backoff and jitter, then raises `GraphUnavailable` (R17b);
- holds the mailbox's slots (4; a `$batch` takes all 4) while a request is in flight;
- applies a per-request timeout itself (`anyio.fail_after`), since httpx's ASGITransport
  ignores timeouts, and stops at the cycle's deadline;
- counts every attempt by (method, route kind, status).
Sleep, clock and randomness are injected so tests run fast and deterministically. Log
lines carry the method, the route kind and the status, never a URL (delta links carry
state tokens), a header or a body (R22).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio
import httpx

from s5sync.logs import hold_at_warning
from s5sync.outlook.errors import (
    DeadlineReached,
    GraphRejected,
    GraphUnavailable,
    Throttled,
)
from s5sync.outlook.metering import MailboxSlots, RequestCounter, route_kind

log = logging.getLogger("s5sync.outlook.graph")

PREFER = ('IdType="ImmutableId"', 'outlook.timezone="UTC"', 'outlook.body-content-type="text"')
TRANSIENT = frozenset({408, 500, 502, 503, 504})
THROTTLING = frozenset({429, 503})


class AccessTokens(Protocol):
    """A user's Graph access tokens (outlook.tokens.UserTokens in production)."""

    async def token(self, *, force_refresh: bool = False) -> str: ...


def keep_http_logs_quiet() -> None:
    """httpx logs every URL at INFO, and delta and next links carry sync-state tokens
    (R22): its loggers stay at WARNING whatever the process's log level."""
    hold_at_warning(("httpx", "httpcore"))


@dataclass(frozen=True)
class RetryPolicy:
    """How patient one cycle is with Graph (R23b)."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 30.0  # the longest Retry-After waited out inside a cycle
    request_timeout: float = 30.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Pacing:
    """Time and chance, injected (STYLE.md habit 3): tests pass a recording sleep."""

    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = _utcnow
    random: Callable[[], float] = random.random


@dataclass(frozen=True)
class Answer:
    """Graph's final answer to one request (after retries)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    attempts: int = 1
    # An earlier attempt timed out, dropped or failed with 5xx: it may have been applied.
    uncertain: bool = False

    @property
    def error_code(self) -> str:
        return error_code(self.body)


def error_code(body: Any) -> str:
    """Graph's `error.code`, the only part of an error a client may branch on."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return ""


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds asked by `Retry-After`: a number (maybe fractional) or an HTTP date."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass
class GraphSession:
    """The HTTP side of one user's Graph client for one cycle."""

    http: httpx.AsyncClient
    tokens: AccessTokens
    counter: RequestCounter = field(default_factory=RequestCounter)
    slots: MailboxSlots = field(default_factory=MailboxSlots)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pacing: Pacing = field(default_factory=Pacing)
    deadline: float | None = None  # in pacing.monotonic() time

    def __post_init__(self) -> None:
        keep_http_logs_quiet()

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter (half fixed, half random)."""
        ceiling = min(self.policy.max_delay, self.policy.base_delay * 2.0 ** (attempt - 1))
        return float(ceiling * (0.5 + self.pacing.random() / 2))

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.pacing.monotonic()

    async def wait(self, seconds: float, status: int = 429) -> None:
        """Sleep as Graph asked, or end the cycle with when to come back (R23b)."""
        left = self.remaining()
        if seconds > self.policy.max_wait or (left is not None and seconds >= left):
            raise Throttled(self.pacing.now() + timedelta(seconds=seconds), status=status)
        await self.pacing.sleep(seconds)

    def same_origin(self, url: str) -> bool:
        """Only links back to our own Graph base get the bearer token."""
        target = urlsplit(url)
        if not target.scheme:
            return True
        base = self.http.base_url
        return (target.scheme, target.netloc) == (base.scheme, base.netloc.decode())

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        prefer: Sequence[str] = (),
        weight: int = 1,
    ) -> Answer:
        """Send with retries; returns the first answer that is not retried."""
        if not self.same_origin(url):
            raise GraphRejected("a Graph link pointed outside the configured Graph URL")
        kind = route_kind(url)
        refreshed = force = uncertain = False
        last: Answer | None = None
        for attempt in range(1, self.policy.max_attempts + 1):
            token = await self.tokens.token(force_refresh=force)
            force = False
            sent = {
                "Authorization": f"Bearer {token}",
                "Prefer": ", ".join((*PREFER, *prefer)),
                **(headers or {}),
            }
            try:
                answer = await self._send(method, url, body, sent, weight)
            except (TimeoutError, httpx.TransportError) as error:
                left = self.remaining()
                if left is not None and left <= 0:
                    raise DeadlineReached("the cycle's time for Microsoft Graph ran out") from None
                uncertain = True
                reason = (
                    "timeout"
                    if isinstance(error, TimeoutError | httpx.TimeoutException)
                    else "error"
                )
                self.counter.record(method, url, reason)
                log.info(
                    "graph.retry method=%s route=%s failure=%s attempt=%d",
                    method,
                    kind,
                    reason,
                    attempt,
                )
                if attempt == self.policy.max_attempts:
                    raise GraphUnavailable(
                        f"Microsoft Graph did not answer {method} {kind} ({reason}) "
                        f"after {attempt} attempts"
                    ) from None
                await self._backoff_or_stop(attempt)
                continue
            self.counter.record(method, url, answer.status)
            last = Answer(answer.status, answer.headers, answer.body, attempt, uncertain)
            if answer.status == 401 and not refreshed:
                refreshed = force = True  # R19b: one forced refresh, then the answer stands
                log.info("graph.token_refresh method=%s route=%s", method, kind)
                continue
            wait = retry_after(answer.headers, self.pacing.now())
            if answer.status in THROTTLING and wait is not None:
                log.info(
                    "graph.throttled method=%s route=%s status=%d wait=%.1f",
                    method,
                    kind,
                    answer.status,
                    wait,
                )
                if attempt == self.policy.max_attempts:
                    raise Throttled(
                        self.pacing.now() + timedelta(seconds=wait), status=answer.status
                    )
                await self.wait(wait, answer.status)
                continue
            if answer.status in TRANSIENT or answer.status == 429:
                uncertain = uncertain or answer.status >= 500
                log.info(
                    "graph.retry method=%s route=%s status=%d attempt=%d",
                    method,
                    kind,
                    answer.status,
                    attempt,
                )
                if attempt == self.policy.max_attempts:
                    break
                await self._backoff_or_stop(attempt)
                continue
            return last
        status = last.status if last else None
        raise GraphUnavailable(
            f"Microsoft Graph kept failing {method} {kind} (last status {status}) "
            f"after {self.policy.max_attempts} attempts",
            status=status,
            code=last.error_code if last else "",
        )

    async def _backoff_or_stop(self, attempt: int) -> None:
        delay = self.backoff(attempt)
        left = self.remaining()
        if left is not None and delay >= left:
            raise DeadlineReached("the cycle's time for Microsoft Graph ran out")
        await self.pacing.sleep(delay)

    async def _send(
        self, method: str, url: str, body: Any, headers: dict[str, str], weight: int
    ) -> Answer:
        timeout = self.policy.request_timeout
        left = self.remaining()
        if left is not None:
            if left <= 0:
                raise DeadlineReached("the cycle's time for Microsoft Graph ran out")
            timeout = min(timeout, left)
        async with self.slots.hold(weight):
            with anyio.fail_after(timeout):
                response = await self.http.request(
                    method,
                    url,
                    content=None if body is None else json.dumps(body).encode(),
                    headers={**headers, "Content-Type": "application/json"}
                    if body is not None
                    else headers,
                )
                payload = await response.aread()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return Answer(response.status_code, dict(response.headers), parsed)
