"""One user's HTTP conversation with Microsoft Graph: auth, Prefer headers, retries, limits.

Every request of the Graph adapter goes through `GraphSession.request`, over one
`GraphTransport` (transport.py: aiohttp in production, httpx's in-process ASGI transport
in tests), which
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
- applies a per-request timeout itself (`asyncio.timeout`), since the in-process test
  transport ignores timeouts, and stops at the cycle's deadline;
- counts every attempt by (method, route kind, status).
Sleep, clock and randomness are injected so tests run fast and deterministically. Log
lines carry the method, the route kind and the status, never a URL (delta links carry
state tokens), a header or a body (R22).
"""

from __future__ import annotations

import asyncio
import functools
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

from s5sync.outlook.errors import (
    DeadlineReached,
    GraphRejected,
    GraphUnavailable,
    Throttled,
)
from s5sync.outlook.metering import MailboxSlots, RequestCounter, route_kind
from s5sync.outlook.transport import GraphTransport, Reply, TransportFailed

log = logging.getLogger("s5sync.outlook.graph")

PREFER = ('IdType="ImmutableId"', 'outlook.timezone="UTC"', 'outlook.body-content-type="text"')
TRANSIENT = frozenset({408, 500, 502, 503, 504})
THROTTLING = frozenset({429, 503})
RETRIED = TRANSIENT | {429}


class AccessTokens(Protocol):
    """A user's Graph access tokens (outlook.tokens.UserTokens in production)."""

    async def token(self, *, force_refresh: bool = False) -> str: ...


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

    http: GraphTransport
    tokens: AccessTokens
    counter: RequestCounter = field(default_factory=RequestCounter)
    slots: MailboxSlots = field(default_factory=MailboxSlots)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pacing: Pacing = field(default_factory=Pacing)
    deadline: float | None = None  # in pacing.monotonic() time

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
        """Only links back to our own Graph base get the bearer token. A link that starts
        with "scheme://host/" of the base is on it (its host ends at that "/", as
        `urlsplit` reads it); any other is split and compared."""
        scheme, netloc = origin = self.http.origin
        if url[:1] == "/" or url.startswith(f"{scheme}://{netloc}/"):
            return True
        target = urlsplit(url)
        return not target.scheme or (target.scheme, target.netloc) == origin

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
        """Send with retries; returns the first answer that is not retried: a 401 once
        after a forced token refresh (R19b), 429/503 after their `Retry-After`, other
        transient failures after a backoff (R17b, R23b)."""
        if not self.same_origin(url):
            raise GraphRejected("a Graph link pointed outside the configured Graph URL")
        content = None if body is None else json.dumps(body).encode()
        fixed = _fixed_headers(tuple(prefer), content is not None)
        force = refreshed = uncertain = False
        last: Answer | None = None
        for attempt in range(1, self.policy.max_attempts + 1):
            sent = {"Authorization": "Bearer " + await self.tokens.token(force_refresh=force)}
            force = False
            sent.update(fixed)
            if headers:
                sent.update(headers)
            try:
                reply = await self._send(method, url, content, sent, weight)
            except (TimeoutError, TransportFailed) as error:
                uncertain = True
                await self._after_failure(method, url, error, attempt)
                continue
            status = reply.status
            self.counter.record(method, url, status)
            last = Answer(status, reply.headers, _parsed(reply.payload), attempt, uncertain)
            force = status == 401 and not refreshed
            if force:
                refreshed = True  # R19b: one forced refresh, then the answer stands
                log.info("graph.token_refresh method=%s route=%s", method, route_kind(url))
            elif (
                status in THROTTLING
                and (wait := retry_after(reply.headers, self.pacing.now())) is not None
            ):
                await self._throttled(method, url, last, wait, attempt)
            elif status in RETRIED:
                uncertain = uncertain or status >= 500
                self._log_retry(method, url, f"status={status}", attempt)
                if attempt < self.policy.max_attempts:
                    await self._backoff_or_stop(attempt)
            else:
                return last
        raise GraphUnavailable(
            f"Microsoft Graph kept failing {method} {route_kind(url)} (last status "
            f"{last.status if last else None}) after {self.policy.max_attempts} attempts",
            status=last.status if last else None,
            code=last.error_code if last else "",
        )

    def _log_retry(self, method: str, url: str, why: str, attempt: int) -> None:
        log.info(
            "graph.retry method=%s route=%s %s attempt=%d", method, route_kind(url), why, attempt
        )

    async def _after_failure(self, method: str, url: str, error: Exception, attempt: int) -> None:
        """No answer (a timeout, a dropped connection): retried after a backoff, unless
        the cycle's time is up or this was the last attempt."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise DeadlineReached("the cycle's time for Microsoft Graph ran out")
        reason = error.reason if isinstance(error, TransportFailed) else "timeout"
        self.counter.record(method, url, reason)
        self._log_retry(method, url, f"failure={reason}", attempt)
        if attempt == self.policy.max_attempts:
            raise GraphUnavailable(
                f"Microsoft Graph did not answer {method} {route_kind(url)} ({reason}) "
                f"after {attempt} attempts"
            )
        await self._backoff_or_stop(attempt)

    async def _throttled(
        self, method: str, url: str, answer: Answer, wait: float, attempt: int
    ) -> None:
        log.info(
            "graph.throttled method=%s route=%s status=%d wait=%.1f",
            method,
            route_kind(url),
            answer.status,
            wait,
        )
        if attempt == self.policy.max_attempts:
            raise Throttled(self.pacing.now() + timedelta(seconds=wait), status=answer.status)
        await self.wait(wait, answer.status)

    async def _backoff_or_stop(self, attempt: int) -> None:
        delay = self.backoff(attempt)
        left = self.remaining()
        if left is not None and delay >= left:
            raise DeadlineReached("the cycle's time for Microsoft Graph ran out")
        await self.pacing.sleep(delay)

    async def _send(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str], weight: int
    ) -> Reply:
        """One attempt, holding the mailbox's slots, cut at the request's timeout (or at
        the cycle's deadline): the in-process test transport ignores timeouts."""
        timeout = self.policy.request_timeout
        left = self.remaining()
        if left is not None:
            if left <= 0:
                raise DeadlineReached("the cycle's time for Microsoft Graph ran out")
            timeout = min(timeout, left)
        async with self.slots.hold(weight):
            async with asyncio.timeout(timeout):
                return await self.http.send(method, url, content, headers)


@functools.cache
def _fixed_headers(prefer: tuple[str, ...], has_body: bool) -> dict[str, str]:
    """The headers every request carries (R17: one shape of event everywhere)."""
    fixed = {"Prefer": ", ".join((*PREFER, *prefer))}
    if has_body:
        fixed["Content-Type"] = "application/json"
    return fixed


def _parsed(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None
