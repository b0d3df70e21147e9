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
| `s5sync_users` | status | counted when scraped (`administration.user_status`) |
| `s5sync_scheduler_alive` | — | 1 while the local scheduler's loop runs |

Labels are low-cardinality by construction: route kinds drop ids and queries
(`metering.route_kind`), and no store, user or e-mail ever becomes a label (R22).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from s5sync.outlook.metering import RequestCounter

CONTENT_TYPE = CONTENT_TYPE_LATEST
THROTTLE_STATUSES = frozenset({"429", "503"})
USER_STATUSES = ("active", "paused", "failing", "needs_sign_in", "not_onboarded")


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

    def set_users(self, counts: Mapping[str, int]) -> None:
        for status in {*USER_STATUSES, *counts}:
            self.users.labels(status).set(counts.get(status, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
