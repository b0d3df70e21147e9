"""`/metrics` in Prometheus text format (issue 11;
prometheus.io/docs/instrumenting/exposition_formats).

One `CollectorRegistry` per app — never prometheus-client's global one — so that two
apps in one process (tests, the demo) never share or collide. What is counted:

| metric | labels | from |
|---|---|---|
| `s5sync_cycles_total` | outcome | the scheduler's cycle runner (`CycleResult.outcome`) |
| `s5sync_cycle_duration_seconds` | — | the same, wall time of `run_user_cycle` |
| `s5sync_graph_requests_total` | method, kind, status | each cycle's `RequestCounter` |
| `s5sync_graph_batch_items_total` | method, kind, status | items inside `$batch` requests |
| `s5sync_graph_throttles_total` | kind | 429 and 503 answers, requests and batch items (R23b) |
| `s5sync_users` | status | counted when scraped (`core.status.user_status`) |
| `s5sync_scheduler_alive` | — | 1 while the local scheduler's loop runs |
| `s5sync_graph_notifications_total` | result | `/graph/*` answers (R14b): accepted, forged… |

`MeteredCycles` is the one place a cycle is timed, counted and logged (`cycle.finished`):
the web app's local scheduler and `s5sync worker` both run their cycles through it.

Labels are low-cardinality by construction: route kinds drop ids and queries
(`metering.route_kind`), and no store, user or e-mail ever becomes a label (R22).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.core.status import UserStatus
from s5sync.outlook.metering import RequestCounter
from s5sync.sync.ports import UserPorts

if TYPE_CHECKING:
    from s5sync.entrypoints.bootstrap import Services
    from s5sync.sync.engine import CycleResult

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
THROTTLE_STATUSES = frozenset({"429", "503"})
USER_STATUSES = tuple(UserStatus)


class Metrics:
    """The app's counters, on its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.cycles = Counter("s5sync_cycles", "Cycles run, by outcome", ["outcome"], registry=r)
        self.duration = Histogram(
            "s5sync_cycle_duration_seconds",
            "Wall time of one user's cycle",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.requests = Counter(
            "s5sync_graph_requests",
            "Microsoft Graph HTTP requests, by method, route kind and status",
            ["method", "kind", "status"],
            registry=r,
        )
        self.batch_items = Counter(
            "s5sync_graph_batch_items",
            "Requests inside $batch, by method, route kind and status",
            ["method", "kind", "status"],
            registry=r,
        )
        self.throttles = Counter(
            "s5sync_graph_throttles",
            "Graph answers 429 or 503 (requests and batch items), by route kind",
            ["kind"],
            registry=r,
        )
        self.users = Gauge("s5sync_users", "Users by sync status", ["status"], registry=r)
        self.notifications = Counter(
            "s5sync_graph_notifications",
            "Graph change and lifecycle notifications received, by result (R14b)",
            ["result"],
            registry=r,
        )
        self.scheduler_alive = Gauge(
            "s5sync_scheduler_alive", "1 while the local scheduler runs", registry=r
        )

    def record_cycle(self, outcome: str, seconds: float) -> None:
        self.cycles.labels(outcome).inc()
        self.duration.observe(seconds)

    def record_requests(self, counter: RequestCounter) -> None:
        """Add one cycle's requests (called once per cycle, when its ports close)."""
        for (method, kind, status), n in counter.by_key.items():
            self.requests.labels(method, kind, status).inc(n)
            if status in THROTTLE_STATUSES:
                self.throttles.labels(kind).inc(n)
        for (method, kind, status), n in counter.batch_items.items():
            self.batch_items.labels(method, kind, status).inc(n)
            if status in THROTTLE_STATUSES:
                self.throttles.labels(kind).inc(n)

    def set_users(self, counts: Mapping[UserStatus, int]) -> None:
        for status in {*USER_STATUSES, *counts}:
            self.users.labels(status).set(counts.get(status, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MeteredCycles:
    """The cycle engine of one process with every cycle timed, counted and logged: its
    outcome and wall time, its Graph requests by kind and status (R23b)."""

    def __init__(self, services: Services, counters: Metrics, holder: str) -> None:
        self.services = services
        self.counters = counters
        self.engine = services.cycle_engine(holder, self._metered_ports)
        self.last_finished: datetime | None = None  # the process clock's, for /healthz

    @asynccontextmanager
    async def _metered_ports(
        self, user: UserRecord, tenant: TenantRecord
    ) -> AsyncIterator[UserPorts]:
        async with self.services.ports_for(user, tenant) as ports:
            try:
                yield ports
            finally:
                counter = getattr(ports.calendar, "counter", None)
                if isinstance(counter, RequestCounter):
                    self.counters.record_requests(counter)

    async def run_user_cycle(self, user: UserRecord, now: datetime) -> CycleResult:
        from s5sync.entrypoints.bootstrap import utc_now

        started = time.monotonic()
        try:
            result: CycleResult = await self.engine.run_user_cycle(user, now)
        except asyncio.CancelledError:  # stopped at shutdown after the grace period
            self.counters.record_cycle("cancelled", time.monotonic() - started)
            raise
        except Exception:
            self.counters.record_cycle("crashed", time.monotonic() - started)
            raise
        seconds = time.monotonic() - started
        self.counters.record_cycle(result.outcome, seconds)
        self.last_finished = utc_now()
        log.info(
            "cycle.finished",
            extra={
                "tenant_id": user.tenant_id,
                "user_id": user.id,
                "outcome": result.outcome,
                "seconds": round(seconds, 3),
                "graph_requests": sum(result.requests.values()),
                "writes": result.wrote,
            },
        )
        return result
