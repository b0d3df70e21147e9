"""`/metrics` counters (issue 11): Graph requests by method, kind and status, throttles
from requests and batch items alike (R23b), each app on its own registry."""

from __future__ import annotations

from prometheus_client import REGISTRY

from s5sync.core.status import UserStatus
from s5sync.entrypoints.web.metrics import Metrics
from s5sync.outlook.metering import RequestCounter

GRAPH = "https://graph.microsoft.com/v1.0"


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_requests_batch_items_and_throttles_are_counted_by_kind_and_status_R23b() -> None:
    metrics = Metrics()
    counter = RequestCounter()
    counter.record("GET", f"{GRAPH}/me/calendarView/delta?$deltatoken=secret", 200)
    counter.record("GET", f"{GRAPH}/me/calendarView/delta?$deltatoken=secret", 429)
    counter.record("POST", f"{GRAPH}/$batch", 200)
    counter.record_item("PATCH", "/me/events/AAMkAD=", 429)
    counter.record_item("POST", "/me/events", 201)
    metrics.record_requests(counter)
    metrics.record_cycle("ok", 1.2)
    delta = {"method": "GET", "kind": "calendarView/delta"}
    assert sample(metrics, "s5sync_graph_requests_total", **delta, status="200") == 1
    assert sample(metrics, "s5sync_graph_requests_total", **delta, status="429") == 1
    assert sample(metrics, "s5sync_graph_throttles_total", kind="calendarView/delta") == 1
    assert sample(metrics, "s5sync_graph_throttles_total", kind="events/{id}") == 1
    assert (
        sample(
            metrics, "s5sync_graph_batch_items_total", method="POST", kind="events", status="201"
        )
        == 1
    )
    assert sample(metrics, "s5sync_cycles_total", outcome="ok") == 1
    assert sample(metrics, "s5sync_cycle_duration_seconds_count") == 1
    text = metrics.render().decode()
    assert "secret" not in text  # ids, tokens and queries never become labels (R22)
    assert "AAMkAD" not in text


def test_each_app_has_its_own_registry_and_the_global_one_stays_empty() -> None:
    first, second = Metrics(), Metrics()
    first.record_cycle("failed", 0.5)
    assert sample(second, "s5sync_cycles_total", outcome="failed") is None
    assert REGISTRY.get_sample_value("s5sync_cycles_total", {"outcome": "failed"}) is None


def test_users_by_status_are_all_reported_even_at_zero() -> None:
    metrics = Metrics()
    metrics.set_users({UserStatus.ACTIVE: 3, UserStatus.NEEDS_SIGN_IN: 1})
    assert sample(metrics, "s5sync_users", status="active") == 3
    assert sample(metrics, "s5sync_users", status="needs_sign_in") == 1
    assert sample(metrics, "s5sync_users", status="failing") == 0
