"""When the distributed dispatcher starts each user's cycle (R14; DESIGN.md "Scheduling")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
import pytest
from procrastinate.testing import InMemoryConnector

from s5sync.core.records import UserRecord
from s5sync.scheduling.distributed import DistributedScheduler, every

NOW = datetime(2026, 11, 25, 14, 0, 7, tzinfo=UTC)
INTERVAL = timedelta(minutes=10)


def scheduler(**options: Any) -> DistributedScheduler:
    """Over procrastinate's own in-memory connector: the tasks are really registered."""
    app = procrastinate.App(connector=InMemoryConnector())
    return DistributedScheduler(app, None, None, clock=lambda: NOW, **options)  # type: ignore[arg-type]


def user(user_id: int, **changes: Any) -> UserRecord:
    base = UserRecord(
        id=user_id,
        tenant_id=1,
        object_id="o",
        email="a@b.c",
        display_name="A",
        employee_id=1,
        onboarded_at=NOW,
        is_admin=False,
        status="active",
        last_error=None,
        last_heartbeat_at=NOW,
        next_run_at=None,
        last_run_at=None,
        last_outcome=None,
        sync_now_requested=False,
        has_token_cache=True,
    )
    return replace(base, **changes)


def test_cron_lines_fire_every_given_seconds() -> None:
    assert every(2) == "* * * * * */2"
    assert every(30) == "* * * * * */30"
    assert every(60) == "*/1 * * * *"
    assert every(300) == "*/5 * * * *"
    with pytest.raises(ValueError, match="divide"):
        every(7)


def test_sync_now_starts_at_once_R14() -> None:
    pressed = user(5, sync_now_requested=True, next_run_at=NOW + timedelta(minutes=8))
    assert scheduler().start_at(pressed, NOW, INTERVAL) == NOW


def test_a_user_with_a_rhythm_starts_at_its_next_run_R14() -> None:
    soon = user(5, next_run_at=NOW + timedelta(seconds=20))
    late = user(6, next_run_at=NOW - timedelta(minutes=3))
    assert scheduler().start_at(soon, NOW, INTERVAL) == NOW + timedelta(seconds=20)
    assert scheduler().start_at(late, NOW, INTERVAL) == NOW


def test_users_without_a_rhythm_spread_evenly_over_the_interval() -> None:
    starts = [scheduler().start_at(user(i), NOW, INTERVAL) for i in range(1, 1001)]
    assert all(NOW <= at < NOW + INTERVAL for at in starts)
    per_minute = [0] * 10
    for at in starts:
        per_minute[int((at - NOW).total_seconds() // 60)] += 1
    assert min(per_minute) >= 90
    assert max(per_minute) <= 110  # 1,000 users: about 100 a minute, no burst


def test_a_users_phase_is_the_same_at_every_tick() -> None:
    first = scheduler().start_at(user(42), NOW, INTERVAL)
    later = scheduler().start_at(user(42), NOW + timedelta(seconds=30), INTERVAL)
    if first >= NOW + timedelta(seconds=30):
        assert later == first


def test_the_periodic_dispatcher_and_reaper_are_registered_without_retries_R23b() -> None:
    built = scheduler(dispatch_seconds=30, reap_seconds=60)
    crons = {
        pid: task.cron for (_, pid), task in built.app.periodic_registry.periodic_tasks.items()
    }
    assert crons == {"dispatch": "* * * * * */30", "reap": "*/1 * * * *"}
    cycle = built.app.tasks["s5sync.run_cycle"]
    assert cycle.retry_strategy is None  # a throttled cycle records its own next run
    assert cycle.queue == "cycles"
