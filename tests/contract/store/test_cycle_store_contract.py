"""One contract suite for `ports.CycleStore`: the in-memory fake, SQLite and PostgreSQL.

What a cycle relies on: the lease refuses a second cycle and its fence grows (R16); every
write after `start` is refused once the lease was taken over; a link transaction is
kept whole or not at all; the window cache hands out only the events that can matter
(linked, tagged, ours — issue 12) and all of them on demand; `finish` records the run
whose skips the next cycle sees (R18), saves the window only under a live lease, and
frees the lease; another store's user is never reached (R22).
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from s5sync.core.records import ActivityEntry, CachedEvent, DeltaRecord, UserRecord
from s5sync.core.snapshots import Link, LinkState, Origin
from s5sync.store.cycles import SqlCycleStore
from s5sync.store.database import Database
from s5sync.store.directory import Directory, LeaseLost, NotFound
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretBox
from s5sync.sync.holders import _start_ticks, holder_name
from s5sync.sync.ports import CycleEnd, CycleStart, CycleStore, WindowSave
from s5sync.testing.cyclestore import MemoryCycleStores

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
TTL = timedelta(minutes=8)


@dataclass
class World:
    """A store with an onboarded user, a user not onboarded, and another store's user."""

    store: CycleStore
    user: UserRecord
    newcomer: UserRecord
    stranger: UserRecord
    kind: str
    scope: TenantScope | None = None
    box: SecretBox | None = None

    async def runs(self) -> list[tuple[str, bool]]:
        """The user's runs, oldest first: (outcome, finished)."""
        if self.scope is None:
            memory = self.store.world.users[self.user.id]  # type: ignore[attr-defined]
            return [(run.outcome, run.finished_at is not None) for run in memory.runs]
        async with self.scope.begin(write=False) as unit:
            rows = await unit.runs.runs(self.user.id)
        return [(run.outcome, run.finished_at is not None) for run in reversed(rows)]

    async def activity(self) -> list[str]:
        if self.scope is None:
            memory = self.store.world.users[self.user.id]  # type: ignore[attr-defined]
            return [entry.message for _, _, entry in memory.activity]
        async with self.scope.begin(write=False) as unit:
            return [a.message for a in reversed(await unit.runs.activity(self.user.id))]


async def sql_world(db: Database, kind: str) -> World:
    box = SecretBox([SecretBox.generate_key()])
    directory = Directory(db, box)
    mine = await directory.create_tenant("tenant-a", "Store A", "sqlite:///a.db", NOW)
    other = await directory.create_tenant("tenant-b", "Store B", "sqlite:///b.db", NOW)
    scope = TenantScope(db, box, mine.id)
    async with scope.begin() as unit:
        user = await unit.users.signed_in("oid-1", "ann@a.example", "Ann", NOW)
        user = await unit.users.onboard(user.id, 11, NOW)
        newcomer = await unit.users.signed_in("oid-2", "ned@a.example", "Ned", NOW)
    async with TenantScope(db, box, other.id).begin() as unit:
        stranger = await unit.users.signed_in("oid-3", "sam@b.example", "Sam", NOW)
        stranger = await unit.users.onboard(stranger.id, 12, NOW)
    return World(SqlCycleStore(db, box, mine.id), user, newcomer, stranger, kind, scope, box)


def memory_world() -> World:
    world = MemoryCycleStores()
    mine, other = world.add_tenant("Store A"), world.add_tenant("Store B")
    return World(
        world.cycle_store(mine.id),
        world.add_user(mine.id, "ann@a.example", 11, NOW),
        world.add_user(mine.id, "ned@a.example", None, NOW),
        world.add_user(other.id, "sam@b.example", 12, NOW),
        "memory",
    )


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[World]:
    if request.param == "memory":
        yield memory_world()
        return
    if request.param == "sqlite":
        path = tmp_path / "calendarevent.db"
        path.write_bytes(sqlite_template.read_bytes())  # noqa: ASYNC240 - set-up, not a cycle
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("clean_pg")
    db = Database(url)
    try:
        yield await sql_world(db, request.param)
    finally:
        await db.dispose()


async def begin(world: World, at: datetime = NOW) -> CycleStart:
    started = await world.store.start(world.user.id, "worker-1", at, TTL)
    assert isinstance(started, CycleStart), started
    return started


def end(started: CycleStart, *, window: WindowSave | None = None, **more: Any) -> CycleEnd:
    values: dict[str, Any] = {
        "run_id": started.run_id,
        "now": NOW,
        "finished_at": NOW + timedelta(seconds=1),
        "outcome": "ok",
        "status": "active",
        "next_run_at": NOW + timedelta(minutes=10),
        "counts": {"writes": 0},
        "graph_requests": {"requests": 1},
        "skip_keys": [],
        "entries": [],
        "window": window,
    }
    return CycleEnd(**{**values, **more})


def cached(event_id: str, subject: str, *, relevant: bool) -> CachedEvent:
    return CachedEvent(event_id, {"subject": subject}, f"ck-{event_id}", f"h-{event_id}", relevant)


def delta(link: str, tag: str = "[sync]") -> DeltaRecord:
    return DeltaRecord(link, NOW - timedelta(days=1), NOW + timedelta(days=21), NOW, tag)


async def test_the_lease_lets_one_cycle_run_and_its_fence_grows_R16(world: World) -> None:
    first = await begin(world)
    assert first.user.id == world.user.id
    assert first.tenant.options.interval_minutes == 10
    assert await world.store.start(world.user.id, "worker-2", NOW, TTL) == "busy"
    # The lease ends before the interval does, so a lost worker delays one cycle only.
    assert first.lease.expires_at <= NOW + timedelta(minutes=9)
    later = NOW + timedelta(minutes=9, seconds=1)
    second = await begin(world, later)  # expired: taken over, with a greater fence
    assert second.lease.fence > first.lease.fence
    await world.store.finish(second.lease, end(second))
    third = await begin(world, later)
    assert third.lease.fence > second.lease.fence


@pytest.fixture
def dead_holder() -> str:
    """The lease holder of a process of this host that was killed (kill -9)."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        name = holder_name("worker").split(":")
        name[2:] = [str(child.pid), str(_start_ticks(child.pid))]
    finally:
        child.kill()
        child.wait()
    return ":".join(name)


async def test_a_lease_whose_holder_is_gone_is_taken_over_at_once_and_its_run_closed_R16_R18(
    world: World, dead_holder: str
) -> None:
    """Issue 23 item 6: a cycle killed on this host no longer holds its user for up to 8
    minutes (every Sync now answering "already running"), and its run is not left
    running forever."""
    killed = await world.store.start(world.user.id, dead_holder, NOW, TTL)
    assert isinstance(killed, CycleStart)
    # Never finished. A minute later, well inside the lease:
    next_one = await world.store.start(world.user.id, "w", NOW + timedelta(minutes=1), TTL)
    assert isinstance(next_one, CycleStart), next_one
    assert next_one.lease.fence > killed.lease.fence  # the dead cycle can write nothing
    with pytest.raises(LeaseLost):
        await world.store.mark_category_ready(killed.lease, "Received From System5")
    await world.store.finish(next_one.lease, end(next_one))
    assert await world.runs() == [("interrupted", True), ("ok", True)]


async def test_a_lease_of_a_live_holder_is_kept_and_an_expired_ones_run_is_closed_R16_R18(
    world: World,
) -> None:
    alive = holder_name("worker")  # this very process: alive
    first = await world.store.start(world.user.id, alive, NOW, TTL)
    assert isinstance(first, CycleStart)
    assert await world.store.start(world.user.id, "w", NOW + timedelta(minutes=1), TTL) == "busy"
    later = await begin(world, NOW + timedelta(minutes=9, seconds=1))  # expired
    await world.store.finish(later.lease, end(later))
    assert await world.runs() == [("interrupted", True), ("ok", True)]


async def test_only_onboarded_users_of_this_store_start_R20_R22(world: World) -> None:
    assert await world.store.start(world.newcomer.id, "w", NOW, TTL) == "not_onboarded"
    with pytest.raises(NotFound):
        await world.store.start(world.stranger.id, "w", NOW, TTL)


async def test_a_superseded_lease_writes_nothing_R16(world: World) -> None:
    first = await begin(world)
    taken_over = await begin(world, NOW + timedelta(minutes=9, seconds=1))
    window = WindowSave(delta("stale"), (cached("e1", "Visit [sync]", relevant=True),))
    with pytest.raises(LeaseLost):
        await world.store.save_window(first.lease, window)
    with pytest.raises(LeaseLost):
        async with world.store.link_writes(first.lease) as rows:
            await rows.add(world.user.id, Link(5, None, Origin.S5, LinkState.PENDING), NOW)
    with pytest.raises(LeaseLost):
        await world.store.mark_category_ready(first.lease, "Received From System5")
    with pytest.raises(LeaseLost):  # the window riding with the first link rows (issue 25)
        async with world.store.link_writes(first.lease, window) as rows:
            await rows.add(world.user.id, Link(6, None, Origin.S5, LinkState.PENDING), NOW)
    # The late cycle still records its run, but neither frees the lease nor saves its window.
    await world.store.finish(first.lease, end(first, window=window, outcome="failed"))
    assert await world.store.start(world.user.id, "w", NOW + timedelta(minutes=10), TTL) == "busy"
    await world.store.finish(taken_over.lease, end(taken_over))
    after = await begin(world, NOW + timedelta(minutes=20))
    assert after.links == ()
    assert after.delta is None
    assert dict(after.cached) == {}
    assert after.category_ready is None


async def test_link_rows_are_kept_whole_or_not_at_all_R16(world: World) -> None:
    started = await begin(world)
    pending = Link(5, None, Origin.S5, LinkState.PENDING, transaction_id="s5sync-1-1-5")
    async with world.store.link_writes(started.lease) as rows:
        await rows.add(world.user.id, pending, NOW)
    active = Link(5, "e5", Origin.S5, LinkState.ACTIVE, "s5sync-1-1-5", "th", "eh", "ck")
    imported = Link(None, "e6", Origin.OUTLOOK, LinkState.PENDING)

    async def crash_before_the_commit() -> None:
        async with world.store.link_writes(started.lease) as rows:
            await rows.replace(world.user.id, pending, active, NOW)
            await rows.add(world.user.id, imported, NOW)
            raise RuntimeError("crash before the commit")

    with pytest.raises(RuntimeError):
        await crash_before_the_commit()
    async with world.store.link_writes(started.lease) as rows:
        await rows.replace(world.user.id, pending, active, NOW)
        await rows.add(world.user.id, imported, NOW)
        await rows.delete(world.user.id, imported)
    await world.store.finish(started.lease, end(started))
    again = await begin(world, NOW + timedelta(minutes=10))
    assert again.links == (active,)


async def test_a_link_write_naming_a_vanished_row_keeps_nothing_of_its_transaction_R16(
    world: World,
) -> None:
    started = await begin(world)
    imported = Link(None, "e6", Origin.OUTLOOK, LinkState.PENDING)
    async with world.store.link_writes(started.lease) as rows:
        await rows.add(world.user.id, imported, NOW)
    pushed = Link(8, None, Origin.S5, LinkState.PENDING, transaction_id="s5sync-1-1-8")
    never = Link(9, None, Origin.S5, LinkState.PENDING, transaction_id="s5sync-1-1-9")

    async def write_over_a_vanished_row() -> None:
        async with world.store.link_writes(started.lease) as rows:
            await rows.add(world.user.id, pushed, NOW)
            await rows.replace(world.user.id, never, replace(never, event_id="e9"), NOW)

    with pytest.raises(NotFound):
        await write_over_a_vanished_row()
    # An import's pending row is found by its event id once its task is known.
    linked = Link(7, "e6", Origin.OUTLOOK, LinkState.ACTIVE, None, "th", "eh", "ck")
    async with world.store.link_writes(started.lease) as rows:
        await rows.replace(world.user.id, imported, linked, NOW)
    await world.store.finish(started.lease, end(started))
    again = await begin(world, NOW + timedelta(minutes=10))
    assert again.links == (linked,)


async def test_the_window_is_saved_with_the_first_link_rows_all_or_nothing_R16(
    world: World,
) -> None:
    started = await begin(world)
    window = WindowSave(delta("link-1"), (cached("e1", "Visit [sync]", relevant=True),))
    pending = Link(5, None, Origin.S5, LinkState.PENDING, transaction_id="s5sync-1-1-5")

    async def crash_before_the_commit() -> None:
        async with world.store.link_writes(started.lease, window) as rows:
            await rows.add(world.user.id, pending, NOW)
            raise RuntimeError("crash before the commit")

    with pytest.raises(RuntimeError):
        await crash_before_the_commit()
    assert await world.store.cached(world.user.id, None) == {}
    async with world.store.link_writes(started.lease, window) as rows:
        await rows.add(world.user.id, pending, NOW)
    await world.store.finish(started.lease, end(started))
    again = await begin(world, NOW + timedelta(minutes=10))
    assert again.links == (pending,)
    assert again.delta == delta("link-1")
    assert dict(again.cached) == {"e1": cached("e1", "Visit [sync]", relevant=True)}


async def test_the_window_hands_out_what_can_matter_and_all_on_demand(world: World) -> None:
    started = await begin(world)
    async with world.store.link_writes(started.lease) as rows:
        await rows.add(world.user.id, Link(9, "e-linked", Origin.S5, LinkState.ACTIVE), NOW)
    window = WindowSave(
        delta("link-1"),
        (
            cached("e-tagged", "Visit [sync]", relevant=True),
            cached("e-linked", "Delivery (no tag any more)", relevant=False),
            cached("e-private", "Dentist", relevant=False),
        ),
        rebaselined=True,
    )
    await world.store.save_window(started.lease, window)
    await world.store.finish(started.lease, end(started))

    again = await begin(world, NOW + timedelta(minutes=10))
    assert sorted(again.cached) == ["e-linked", "e-tagged"]  # never the private event
    assert again.delta == delta("link-1")
    assert sorted(await world.store.cached(world.user.id, None)) == [
        "e-linked",
        "e-private",
        "e-tagged",
    ]
    some = await world.store.cached(world.user.id, ["e-private", "e-missing"])
    assert some == {"e-private": cached("e-private", "Dentist", relevant=False)}
    assert await world.store.cached(world.user.id, []) == {}

    # A delta read: one event changed (now tagged), one removed; a re-baseline replaces all.
    step = WindowSave(
        delta("link-2"), (cached("e-private", "Dentist [sync]", relevant=True),), ("e-tagged",)
    )
    await world.store.finish(again.lease, end(again, window=step))
    third = await begin(world, NOW + timedelta(minutes=20))
    assert sorted(third.cached) == ["e-linked", "e-private"]
    assert third.delta is not None
    assert third.delta.delta_link == "link-2"
    fresh = WindowSave(delta("link-3", tag="[s5]"), (), rebaselined=True)
    await world.store.save_window(third.lease, fresh)
    assert await world.store.cached(world.user.id, None) == {}
    await world.store.finish(third.lease, end(third))
    fourth = await begin(world, NOW + timedelta(minutes=30))
    assert fourth.delta == delta("link-3", tag="[s5]")


async def test_finish_records_the_run_its_activity_and_the_skips_seen_R18(world: World) -> None:
    started = await begin(world)
    said = ActivityEntry("push", "skip", "no_sync", 4, None, "Delivery", "Not ticked")
    await world.store.mark_category_ready(started.lease, "Received From System5")
    await world.store.finish(
        started.lease, end(started, skip_keys=[["no_sync", 4, None]], entries=[said])
    )
    assert await world.activity() == ["Not ticked"]
    again = await begin(world, NOW + timedelta(minutes=10))
    assert again.previous_skips == {("no_sync", 4, None)}
    assert again.category_ready == "Received From System5"
    # An unfinished run (a cycle in progress or killed) is not "the previous cycle".
    assert again.run_id != started.run_id
    await world.store.finish(again.lease, end(again, skip_keys=[]))
    third = await begin(world, NOW + timedelta(minutes=20))
    assert third.previous_skips == frozenset()


@pytest.mark.postgres
async def test_a_cycle_runs_bound_to_its_store_under_row_level_security_R22(
    clean_pg: str, app_role: str
) -> None:
    """Deployed as a role that owns nothing and cannot bypass row-level security, every
    transaction of the cycle is bound to its store before its first statement: the
    store's own rows are there, another store's user is not."""
    owner = Database(clean_pg)
    world = await sql_world(owner, "postgresql")
    await owner.dispose()
    assert world.box is not None
    app = Database(clean_pg.replace("postgresql://postgres@", f"postgresql://{app_role}@"))
    try:
        store = SqlCycleStore(app, world.box, world.user.tenant_id)
        started = await store.start(world.user.id, "worker-1", NOW, TTL)
        assert isinstance(started, CycleStart)
        async with store.link_writes(started.lease) as rows:
            await rows.add(world.user.id, Link(5, "e5", Origin.S5, LinkState.ACTIVE), NOW)
        window = WindowSave(delta("link-1"), (cached("e5", "Delivery", relevant=False),))
        await store.save_window(started.lease, window)
        await store.mark_category_ready(started.lease, "Received From System5")
        await store.finish(started.lease, end(started))
        again = await store.start(world.user.id, "worker-1", NOW + timedelta(minutes=10), TTL)
        assert isinstance(again, CycleStart)
        assert [link.event_id for link in again.links] == ["e5"]
        assert sorted(again.cached) == ["e5"]
        assert again.delta == delta("link-1")
        with pytest.raises(NotFound):
            await store.start(world.stranger.id, "worker-1", NOW, TTL)
    finally:
        await app.dispose()


async def ask_resync(world: World, at: datetime) -> None:
    if world.scope is None:
        memory = world.store.world.users[world.user.id]  # type: ignore[attr-defined]
        memory.record = replace(
            memory.record, resync_requested_at=at, resync_requested_by="admin@a.example"
        )
        return
    async with world.scope.begin() as unit:
        await unit.users.request_resync(world.user.id, at, "admin@a.example")


async def test_finish_clears_the_resync_it_carried_out_not_a_later_one_R14c(
    world: World,
) -> None:
    await ask_resync(world, NOW)
    started = await begin(world)
    assert (started.user.resync_requested_at, started.user.resync_requested_by) == (
        NOW,
        "admin@a.example",
    )
    await world.store.finish(started.lease, end(started, resync_of=NOW))
    again = await begin(world, NOW + timedelta(minutes=10))
    assert again.user.resync_requested_at is None
    assert again.user.resync_requested_by is None
    # A request made while the resync ran is kept for the next cycle.
    await ask_resync(world, NOW + timedelta(minutes=15))
    await world.store.finish(again.lease, end(again, resync_of=NOW + timedelta(minutes=5)))
    third = await begin(world, NOW + timedelta(minutes=20))
    assert third.user.resync_requested_at == NOW + timedelta(minutes=15)
