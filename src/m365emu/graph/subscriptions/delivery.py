"""Delivering notifications: a background worker POSTs each queued notification collection
to its URL, retrying as Graph does (change-notifications-delivery-webhooks.md, issue 19):

- each POST has a 3-second timeout; a 2xx answer within it is a delivery; anything else
  (another status, a timeout, a refused connection) is retried "multiple times, for up to
  4 hours", then discarded — and a discarded change notification is reported to its
  subscription's lifecycle URL as `missed` (change-notifications-lifecycle-events.md);
- the retry gaps are chosen (the docs give no schedule): 1 minute, doubling, at most 10
  minutes (the docs' throttled-worker cadence), timed by the emulator's clock, so a test
  moves the clock to fire them;
- slow endpoints: an answer after 2.9 s is slow; once an endpoint has had 100
  notifications in the current 10-minute window (emulator clock), 10 % slow answers delay
  its notifications by 10 minutes and 15 % drop them (reported as `missed`);
- delivery faults (m365emu.faults: delay, drop, duplicate, reorder, reject) match the
  URL and act on one attempt each.

The worker is an asyncio task: `running()` runs it on the caller's loop (tests whose
notification endpoint is an ASGI app in the same loop), `start_thread()` on a loop of
its own (a served emulator). Queuing (`submit`) is thread-safe and never blocks, so the
Graph routes, `$batch` and the Outlook page may queue from any thread. Pending
notifications live in memory only: a restarted emulator has lost them, as a `missed`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx

from m365emu.clock import EmulatorClock
from m365emu.faults import DELIVERY_KINDS, FaultBook, FaultKind
from m365emu.graph.subscriptions.endpoints import EndpointHealth
from m365emu.graph.subscriptions.handshake import ClientFactory

ATTEMPT_TIMEOUT_SECONDS = 3.0
RETRY_FOR = timedelta(hours=4)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(minutes=10)
THROTTLE_DELAY = timedelta(minutes=10)
REORDER_HOLD_SECONDS = 5.0
TICK_SECONDS = 0.05
SWEEP_SECONDS = 0.2
HISTORY = 500
# POSTs in flight at once (chosen): a burst waits its turn here, not in the HTTP client's
# connection pool, where the 3-second limit would already be running.
MAX_IN_FLIGHT = 64


class Outcome(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DROPPED = "dropped"  # a drop fault or a throttled endpoint: never sent
    DISCARDED = "discarded"  # retried for 4 hours without a 2xx
    CANCELLED = "cancelled"  # its subscription expired or was removed first


@dataclass
class Delivery:
    number: int
    url: str
    subscription_id: str
    kind: str  # "change" or "lifecycle"
    body: dict[str, Any]
    created: datetime
    due: datetime
    attempts: int = 0
    outcome: Outcome = Outcome.PENDING
    answers: list[str] = field(default_factory=list)
    in_flight: bool = False
    throttled: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "url": self.url,
            "subscription_id": self.subscription_id,
            "kind": self.kind,
            "items": len(self.body.get("value", [])),
            "created": self.created.isoformat(),
            "due": self.due.isoformat(),
            "attempts": self.attempts,
            "outcome": str(self.outcome),
            "answers": list(self.answers),
        }


class DeliveryWorker:
    def __init__(
        self,
        clock: EmulatorClock,
        faults: FaultBook,
        clients: ClientFactory,
        on_lost: Callable[[Delivery], None],
        sweep: Callable[[datetime], None],
    ) -> None:
        self._clock = clock
        self._faults = faults
        self._clients = clients
        self._on_lost = on_lost
        self._sweep = sweep
        self._lock = threading.Lock()
        self._pending: list[Delivery] = []
        self._held: dict[str, list[Delivery]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.history: deque[Delivery] = deque(maxlen=HISTORY)
        self.outcomes: Counter[str] = Counter()
        self.health = EndpointHealth()
        self._numbers = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._stopping = False
        self._thread: threading.Thread | None = None
        # Graph's 3 s per POST; data, so tests shorten it.
        self.attempt_timeout = ATTEMPT_TIMEOUT_SECONDS

    # -- queueing (any thread) ---------------------------------------------------------
    def submit(
        self, url: str, subscription_id: str, kind: str, items: list[dict[str, Any]]
    ) -> Delivery:
        now = self._clock.now()
        with self._lock:
            self._numbers += 1
            delivery = Delivery(
                self._numbers, url, subscription_id, kind, {"value": items}, now, now
            )
            self._pending.append(delivery)
            self.history.append(delivery)
        self.wake()
        return delivery

    def wake(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def cancel(self, subscription_id: str, *, keep_lifecycle: bool = False) -> None:
        """Forget what is queued for a subscription (it expired or was removed)."""
        with self._lock:
            for delivery in list(self._pending):
                if delivery.subscription_id != subscription_id or delivery.in_flight:
                    continue
                if keep_lifecycle and delivery.kind == "lifecycle":
                    continue
                self._pending.remove(delivery)
                self._finish(delivery, Outcome.CANCELLED)

    def pending(self) -> list[Delivery]:
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._held.clear()
            self.history.clear()
            self.outcomes.clear()
        self.health.clear()

    def count(self, outcome: str) -> None:
        """Count an outcome that queued nothing (a paused subscription's change)."""
        with self._lock:
            self.outcomes[outcome] += 1

    def _finish(self, delivery: Delivery, outcome: Outcome) -> None:
        delivery.outcome = outcome
        delivery.in_flight = False
        self.outcomes[str(outcome)] += 1

    # -- running ----------------------------------------------------------------------
    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        # `_stopping` is reset by `running()`/`start_thread()` before the task starts, never
        # here: a `stop()` that came before this line ran must still end the loop.
        last_sweep = 0.0
        # Made at the first delivery: building a verifying client loads a CA bundle, which
        # an idle emulator (or one still starting its servers) need not pay for.
        client: httpx.AsyncClient | None = None
        try:
            while not self._stopping:
                now = self._clock.now()
                if time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    last_sweep = time.monotonic()
                    self._sweep(now)
                due = self._take_due(now)
                if due and client is None:
                    client = self._clients(ATTEMPT_TIMEOUT_SECONDS)
                for delivery in due:
                    assert client is not None
                    task = asyncio.create_task(self._attempt(client, delivery))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                self._wake.clear()
                # Retries fall due by the clock, so poll while any wait; idle, a queued
                # notification wakes the loop at once and only the sweep needs a tick.
                idle = not self._pending and not self._held
                with suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), SWEEP_SECONDS if idle else TICK_SECONDS
                    )
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            if client is not None:
                await client.aclose()
            self._loop, self._wake = None, None

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[DeliveryWorker]:
        """Run the worker on the current loop for the block (tests). A block that ends
        before the task has started still ends it (stop() is never undone by run())."""
        self._stopping = False
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            self.stop()
            await task

    def start_thread(self) -> None:
        """Run the worker on a loop of its own in a daemon thread (a served emulator)."""
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.run()), daemon=True, name="m365emu-notifications"
        )
        self._thread.start()

    def stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self.stop()
            thread.join(timeout=10)

    async def settle(self, within: float = 10.0) -> None:
        """Wait until nothing is due or in flight (tests; future retries may remain)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            now = self._clock.now()
            with self._lock:
                busy = any(d.in_flight or d.due <= now for d in self._pending)
            if not busy and not self._held:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("notifications still being delivered")

    def _take_due(self, now: datetime) -> list[Delivery]:
        with self._lock:
            due = [d for d in self._pending if not d.in_flight and d.due <= now]
            for delivery in due:
                delivery.in_flight = True
            return due

    # -- one attempt ----------------------------------------------------------------------
    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        now = self._clock.now()
        verdict = self.health.verdict(delivery.url, now)
        if verdict == "drop":
            self._settle(delivery, Outcome.DROPPED, lost=True)
            return
        if verdict == "throttle" and not delivery.throttled:
            delivery.throttled = True
            delivery.due, delivery.in_flight = now + THROTTLE_DELAY, False
            return
        fault = self._faults.take("POST", delivery.url, DELIVERY_KINDS)
        kind = fault.kind if fault is not None else None
        if kind is FaultKind.DROP:
            self._settle(delivery, Outcome.DROPPED)
            return
        if kind is FaultKind.DELAY and fault is not None:
            await asyncio.sleep(fault.delay_seconds)
        if kind is FaultKind.REORDER and fault is not None:
            self._held.setdefault(delivery.url, []).append(delivery)
            hold = fault.delay_seconds or REORDER_HOLD_SECONDS
            asyncio.get_running_loop().call_later(hold, self._release_later, client, delivery.url)
            return
        await self._send(client, delivery, reject=kind is FaultKind.REJECT)
        if kind is FaultKind.DUPLICATE:
            await self._post(client, delivery)
        await self._release(client, delivery.url)

    def _release_later(self, client: httpx.AsyncClient, url: str) -> None:
        task = asyncio.create_task(self._release(client, url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, client: httpx.AsyncClient, url: str) -> None:
        for held in self._held.pop(url, []):
            await self._send(client, held, reject=False)

    async def _post(self, client: httpx.AsyncClient, delivery: Delivery) -> bool:
        async with self._slots:
            return await self._timed_post(client, delivery)

    async def _timed_post(self, client: httpx.AsyncClient, delivery: Delivery) -> bool:
        started = time.monotonic()
        try:
            # Enforced around the exchange, so an in-process (ASGI) endpoint that is slow
            # times out as a remote one would.
            async with asyncio.timeout(self.attempt_timeout):
                answer = await client.post(delivery.url, json=delivery.body)
        except (httpx.TimeoutException, TimeoutError):
            delivery.answers.append("timeout")
            ok = False
        except httpx.HTTPError as error:
            delivery.answers.append(type(error).__name__)
            ok = False
        else:
            delivery.answers.append(str(answer.status_code))
            ok = 200 <= answer.status_code < 300
        self.health.record(delivery.url, time.monotonic() - started, self._clock.now())
        return ok

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery, *, reject: bool) -> None:
        delivery.attempts += 1
        ok = await self._post(client, delivery)
        if reject and delivery.answers:
            delivery.answers[-1] += " (rejected)"
            ok = False
        if ok:
            self._settle(delivery, Outcome.DELIVERED)
            return
        now = self._clock.now()
        if now - delivery.created >= RETRY_FOR:
            self._settle(delivery, Outcome.DISCARDED, lost=True)
            return
        gap = min(FIRST_RETRY * 2 ** (delivery.attempts - 1), LONGEST_RETRY)
        delivery.due, delivery.in_flight = now + gap, False

    def _settle(self, delivery: Delivery, outcome: Outcome, *, lost: bool = False) -> None:
        with self._lock:
            if delivery in self._pending:
                self._pending.remove(delivery)
            self._finish(delivery, outcome)
        if lost:
            self._on_lost(delivery)

    def stats_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pending": len(self._pending),
                "outcomes": dict(self.outcomes),
                "recent": [d.as_json() for d in list(self.history)[-100:]],
            }
