"""Retention (R21b): the local scheduler prunes activity and cycle records older than each
store's own retention, and nothing of any other store or any newer record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from s5sync.core.records import ActivityEntry
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.scheduling.local import LocalScheduler
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from support.cycle_rows import record_cycle

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    built = build_services(Settings(database_url=url, secret_keys=SecretBox.generate_key()))
    yield built
    await built.aclose()


async def store_with_history(services: Services, name: str, retention_days: int) -> int:
    """A store whose one user has a cycle and an activity line at each of 5, 29, 31 and
    45 days ago."""
    tenant = await services.directory.create_tenant(
        name, name, "sqlite://", NOW, retention_days=retention_days
    )
    async with services.scope(tenant.id).begin() as unit:
        user = await unit.users.signed_in(f"oid-{name}", f"u@{name}", "U", NOW)
        await unit.users.onboard(user.id, 1, NOW - timedelta(days=60))
    for days in (5, 29, 31, 45):
        at = NOW - timedelta(days=days)
        entry = ActivityEntry("push", "create", None, days, None, f"{days} days", "sent")
        await record_cycle(services.cycle_store(tenant.id), user.id, at, entries=[entry])
    return tenant.id


async def ages(services: Services, tenant_id: int) -> tuple[list[int], list[int]]:
    async with services.scope(tenant_id).begin(write=False) as unit:
        [user] = await unit.users.all()
        runs = await unit.runs.runs(user.id, limit=100)
        activity = await unit.runs.activity(user.id, limit=100)
    return (
        sorted((NOW - r.started_at).days for r in runs),
        sorted((NOW - a.at).days for a in activity),
    )


async def test_pruning_removes_only_records_older_than_each_stores_retention_R21b(
    services: Services,
) -> None:
    thirty = await store_with_history(services, "thirty", retention_days=30)
    forty = await store_with_history(services, "forty", retention_days=40)

    async def no_cycle(_user: object) -> None:
        raise AssertionError("nobody is due")

    scheduler = LocalScheduler(services.directory, no_cycle, lambda: NOW)
    removed = await scheduler.prune()
    assert removed == 2 * 2 + 1 * 2  # (31, 45) in "thirty", (45) in "forty"; runs and lines
    assert await ages(services, thirty) == ([5, 29], [5, 29])
    assert await ages(services, forty) == ([5, 29, 31], [5, 29, 31])


async def test_the_scheduler_loop_prunes_hourly_without_being_asked_R21b(
    services: Services,
) -> None:
    tenant = await store_with_history(services, "thirty", retention_days=30)
    clock = [NOW]

    async def no_cycle(_user: object) -> None:
        raise AssertionError("nobody is due")

    scheduler = LocalScheduler(services.directory, no_cycle, lambda: clock[0], tick_seconds=0.01)
    scheduler.start()
    try:
        assert await settles(services, tenant, ([5, 29], [5, 29]))
        assert scheduler.last_prune == NOW
        # Records age: 40 minutes later nothing is pruned again, 61 minutes later it is.
        async with services.scope(tenant).begin() as unit:
            [user] = await unit.users.all()
        at = NOW - timedelta(days=30, minutes=30)
        await record_cycle(services.cycle_store(tenant), user.id, at)
        clock[0] = NOW + timedelta(minutes=40)
        await _pause(0.2)
        assert scheduler.last_prune == NOW
        assert (await ages(services, tenant))[0] == [5, 29, 30]
        clock[0] = NOW + timedelta(minutes=61)
        assert await settles(services, tenant, ([5, 29], [5, 29]))
    finally:
        await scheduler.stop()


async def settles(services: Services, tenant: int, expected: tuple[list[int], list[int]]) -> bool:
    """The loop prunes on its own: wait (at most 3 s) for the records to be as expected."""
    for _ in range(300):
        if await ages(services, tenant) == expected:
            return True
        await _pause()
    return False


async def _pause(seconds: float = 0.01) -> None:
    import asyncio

    await asyncio.sleep(seconds)
