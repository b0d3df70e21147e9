"""The local scheduler (R14) on a real SQLite CALENDAREVENT database, with a cycle that
takes the user's lease like the real one and records each run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from s5sync.core.records import UserRecord
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.scheduling.local import LocalScheduler
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from support.cycle_rows import finish_cycle, start_cycle


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    built = build_services(Settings(database_url=url, secret_keys=SecretBox.generate_key()))
    yield built
    await built.aclose()


class RecordingCycle:
    """Stands in for run_user_cycle: lease, a little work, release with next run."""

    def __init__(self, services: Services, clock: Clock, interval: timedelta) -> None:
        self.services, self.clock, self.interval = services, clock, interval
        self.runs: list[int] = []
        self.concurrent = 0
        self.max_concurrent_per_user: dict[int, int] = {}
        self.gate: asyncio.Event | None = None

    async def __call__(self, user: UserRecord) -> None:
        store = self.services.cycle_store(user.tenant_id)
        begun = await start_cycle(store, user.id, self.clock())
        if begun is None:
            return
        self.runs.append(user.id)
        if self.gate is not None:
            await self.gate.wait()
        await finish_cycle(store, begun, self.clock(), next_run_at=self.clock() + self.interval)


async def add_user(services: Services, email: str, clock: Clock, heartbeat: bool) -> int:
    tenant = await services.directory.find_tenant("t") or await services.directory.create_tenant(
        "t", "Store", "sqlite://", clock()
    )
    async with services.scope(tenant.id).begin() as unit:
        user = await unit.users.signed_in(f"oid-{email}", email, email, clock())
        await unit.users.save_token_cache(user.id, "{}")
        await unit.users.onboard(user.id, 1, clock())
        if heartbeat:
            await unit.users.heartbeat(user.id, clock())
        return user.id


async def test_heartbeating_user_is_cycled_each_interval_and_idle_user_is_not_R14(
    services: Services,
) -> None:
    clock = Clock()
    cycle = RecordingCycle(services, clock, timedelta(minutes=10))
    active = await add_user(services, "active@x", clock, heartbeat=True)
    await add_user(services, "idle@x", clock, heartbeat=False)
    scheduler = LocalScheduler(services.directory, cycle, clock, tick_seconds=0.01)
    await scheduler.tick()
    await asyncio.gather(*scheduler.running.values())
    assert cycle.runs == [active]
    clock.now += timedelta(minutes=5)
    await scheduler.tick()
    assert cycle.runs == [active]  # not due yet
    clock.now += timedelta(minutes=5, seconds=1)
    async with services.scope(1).begin() as unit:
        await unit.users.heartbeat(active, clock())
    await scheduler.tick()
    await asyncio.gather(*scheduler.running.values())
    assert cycle.runs == [active, active]
    clock.now += timedelta(minutes=11)  # no heartbeat for 11 minutes: idle (R14)
    await scheduler.tick()
    assert cycle.runs == [active, active]


async def test_sync_now_during_a_running_cycle_runs_one_more_after_it_R14(
    services: Services,
) -> None:
    clock = Clock()
    cycle = RecordingCycle(services, clock, timedelta(minutes=10))
    cycle.gate = asyncio.Event()
    user = await add_user(services, "a@x", clock, heartbeat=True)
    scheduler = LocalScheduler(services.directory, cycle, clock, tick_seconds=0.01)
    scheduler.start()
    for _ in range(200):
        if cycle.runs:
            break
        await asyncio.sleep(0.01)
    assert cycle.runs == [user]
    async with services.scope(1).begin() as unit:
        await unit.users.request_sync_now(user)
    await scheduler.wake()
    await asyncio.sleep(0.05)
    assert cycle.runs == [user]  # never two cycles of one user at once
    cycle.gate.set()
    for _ in range(200):
        if len(cycle.runs) == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await scheduler.stop()
    assert cycle.runs == [user, user]  # exactly one more, not a loop


async def test_a_failing_cycle_does_not_stop_the_scheduler_R23(services: Services) -> None:
    clock = Clock()
    first = await add_user(services, "a@x", clock, heartbeat=True)
    second = await add_user(services, "b@x", clock, heartbeat=True)
    seen: list[int] = []

    async def flaky(user: UserRecord) -> None:
        seen.append(user.id)
        if user.id == first:
            raise RuntimeError("boom")

    scheduler = LocalScheduler(services.directory, flaky, clock, tick_seconds=0.01)
    await scheduler.tick()
    await asyncio.gather(*scheduler.running.values(), return_exceptions=True)
    assert sorted(seen) == [first, second]
    assert scheduler.running == {}
