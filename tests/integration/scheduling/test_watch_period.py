"""The local push loop's watcher period (R14b, issue 19): the loop does not read the
stores' `s5_poll_seconds` every second, yet a new period takes effect within one old
period plus a tick — at once when the options page saved it in this process, by the
store's next poll when another process (`s5sync tenant set --s5-poll-seconds`) wrote the
store's row. Driven tick by tick on a fake clock, on a real SQLite CALENDAREVENT."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.scheduling.push import PERIODS_SECONDS, PushService
from s5sync.settings import Settings
from s5sync.staff.administration import StoreAdministration
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from s5sync.store.watch import CachedWatch, WatchStore
from s5sync.sync.ports import TaskStore
from s5sync.systemfive.watcher import Latest, Saved, StoreWatcher, TaskSaves
from support.web_pages import options_form

START = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> int:
        return int((self.now - START).total_seconds())


class Quiet:
    """A System Five where nothing is ever saved."""

    time_zone = "UTC"

    async def saves_since(self, since: str, last_id: int, limit: int) -> list[Saved]:
        return []

    async def latest_save(self) -> Latest:
        return Latest("2026-12-06T14:00:00.000000Z", 1)


class CountingWatch(WatchStore):
    reads = 0

    async def poll_seconds(self) -> dict[int, int]:
        self.reads += 1
        return await super().poll_seconds()


class World:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.clock = Clock()
        self.polls: list[int] = []  # the clock's seconds of each poll of the store

        async def nudge(_users: list[int]) -> None:
            return None

        async def saves_for(_tenant_id: int) -> TaskSaves:
            self.polls.append(self.clock.seconds())
            return Quiet()

        self.push = PushService(services, nudge, self.clock, lambda _result: None)
        self.watch = CountingWatch(services.db)
        self.push.watch = self.watch
        self.push.local_watcher = StoreWatcher(
            CachedWatch(self.watch), saves_for, self.push.wakeups.note, self.clock
        )

    async def tick(self, seconds: int) -> None:
        """The loop woken every second for `seconds` seconds (it may sleep longer: `next_wait`)."""
        for _ in range(seconds):
            self.clock.now += timedelta(seconds=1)
            await self.push.poll_stores()

    def gaps_after(self, second: int) -> list[int]:
        polls = [at for at in self.polls if at >= second]
        return [b - a for a, b in pairwise(polls)]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    built = build_services(Settings(database_url=url, secret_keys=SecretBox.generate_key()))
    yield built
    await built.aclose()


async def no_task_store(_tenant_id: int) -> TaskStore:
    raise AssertionError("options need no System Five")


async def test_the_period_is_not_read_every_tick_R14b(services: Services) -> None:
    await services.directory.create_tenant("ms", "Contoso", "sqlite://", START)
    world = World(services)
    await world.tick(3)  # polled (and the periods read) at 1
    assert world.push.next_wait(world.clock(), 30.0) == 13  # the loop sleeps until then
    assert world.push.next_wait(world.clock(), 4.0) == 4  # or until the next sweep
    await world.tick(117)
    assert world.gaps_after(0) == [15] * 7  # the default period
    # a read per poll (the store looked due) at most, never one a tick
    assert world.watch.reads <= 120 / PERIODS_SECONDS + 1


async def test_a_period_saved_on_the_options_page_takes_effect_at_once_R14b(
    services: Services,
) -> None:
    tenant = await services.directory.create_tenant("ms", "Contoso", "sqlite://", START)
    async with services.scope(tenant.id).begin() as unit:
        admin = await unit.users.signed_in("oid-admin", "admin@contoso", "A", START)
        admin = await unit.users.set_admin(admin.id, True)
    world = World(services)
    administration = StoreAdministration(services.scope, no_task_store, world.clock, world.push)
    await world.tick(20)  # polled at 1 and 16
    form = options_form(s5_poll_seconds="2")
    saved = await administration.save_options(admin, form, zone_confirmed=True)
    assert saved.saved
    assert world.push.next_wait(world.clock(), 30.0) == 0  # the loop wakes at once
    changed = world.clock.seconds()
    await world.tick(1)
    assert world.polls[-1] == changed + 1  # 16 + 2 had passed: polled at the next tick
    await world.tick(20)
    assert set(world.gaps_after(changed)) == {2}


async def test_a_period_written_to_the_store_row_counts_from_its_next_poll_R14b(
    services: Services,
) -> None:
    """As `s5sync tenant set --s5-poll-seconds` does from another process."""
    tenant = await services.directory.create_tenant("ms", "Contoso", "sqlite://", START)
    world = World(services)
    await world.tick(3)  # polled at 1
    await services.directory.update_tenant(tenant.id, s5_poll_seconds=1)
    changed = world.clock.seconds()
    await world.tick(30)
    first = next(at for at in world.polls if at > changed)
    assert first <= changed + 15 + 1  # within one old period plus a tick
    assert set(world.gaps_after(first)) == {1}
    # and to a longer period: read when the old one ran out, it counts from then on
    await services.directory.update_tenant(tenant.id, s5_poll_seconds=7)
    changed = world.clock.seconds()
    last = world.polls[-1]
    await world.tick(30)
    assert set(world.gaps_after(last)) == {7}
    assert world.polls[-1] > changed + 21


async def test_a_new_store_is_watched_within_the_bound_R14b(services: Services) -> None:
    first = await services.directory.create_tenant("ms", "Contoso", "sqlite://", START)
    await services.directory.update_tenant(first.id, s5_poll_seconds=3600)
    world = World(services)
    await world.tick(2)
    assert world.polls == [1]
    await services.directory.create_tenant("ms2", "Fabrikam", "sqlite://", START)
    added = world.clock.seconds()
    await world.tick(int(PERIODS_SECONDS) + 1)
    assert len(world.polls) == 2
    assert world.polls[1] <= added + PERIODS_SECONDS + 1
