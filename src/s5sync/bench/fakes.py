"""The engine alone on in-memory System Five and Outlook, its CALENDAREVENT rows in memory
or in a database: requests per cycle against the minimum for each scenario, CPU per idle
and per 5-change cycle, and how CPU grows with the events in the window (issue 12)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from s5sync.bench.measure import BenchConfig, Timer, graph_writes, later, minimum, requests
from s5sync.bench.roundtrips import RoundTrips
from s5sync.bench.world import ZONE, FakeFleet, add_users, open_services
from s5sync.core.records import UserRecord
from s5sync.core.snapshots import StoreOptions
from s5sync.sync.engine import CycleEngine, CycleStores
from s5sync.testing.cyclestore import MemoryCycleStores
from s5sync.testing.tasks import FakeTaskStore


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:00")


class FakeBench:
    def __init__(self, fleet: FakeFleet, desk: Any, employees: dict[int, int]) -> None:
        self.fleet, self.desk, self.employees = fleet, desk, employees
        self.serial = 0

    def push(self, user: UserRecord, now: datetime, count: int) -> int:
        for _ in range(count):
            self.serial += 1
            start = now + timedelta(days=2, minutes=self.serial % 600)
            self.desk.add_task(
                self.employees[user.id],
                "delivery",
                f"Delivery {self.serial}",
                stamp(start),
                stamp(start + timedelta(hours=1)),
                sync=True,
            )
        return count

    def inbound(self, user: UserRecord, now: datetime, count: int, tag: str = " [sync]") -> int:
        calendar = self.fleet.calendar(user.id)
        for _ in range(count):
            self.serial += 1
            start = now + timedelta(days=3, minutes=self.serial % 600)
            calendar.user_creates(f"Visit {self.serial}{tag}", start, start + timedelta(hours=1))
        return count

    def scenario(self, name: str, user: UserRecord, at: datetime) -> int:
        """Prepare one ratio scenario; returns m, the inbound changes it makes."""
        pushes, inbound = {"idle": (0, 0), "push_only": (5, 0), "import_only": (0, 5)}.get(
            name, (3, 2)
        )
        self.push(user, at, pushes)
        return self.inbound(user, at, inbound)


async def fake_users(
    url: str | None, employee_ids: list[int], now: datetime
) -> tuple[CycleStores, list[UserRecord], Callable[[], Awaitable[None]]]:
    """The users' CALENDAREVENT rows: in memory (`url` None: the engine alone) or in the
    database at `url`; returns the stores, the users and how to close them."""
    if url is None:
        world = MemoryCycleStores()
        tenant = world.add_tenant("Bench store", StoreOptions(time_zone=ZONE, background_sync=True))
        users = [
            world.add_user(tenant.id, f"u{i}@bench.example", employee, now)
            for i, employee in enumerate(employee_ids)
        ]

        async def nothing() -> None:
            return None

        return world, users, nothing
    services, tenant_id = await open_services(url, "sqlite://", now)
    return services, await add_users(services, tenant_id, employee_ids, now), services.aclose


async def run_fakes(config: BenchConfig, url: str | None, now: datetime) -> dict[str, Any]:
    """Cycles over in-memory System Five and Outlook; the CALENDAREVENT rows in memory
    (`url` None: the engine alone) or in the database at `url`."""
    holder = {"now": now}
    tasks = FakeTaskStore("America/New_York", clock=lambda: holder["now"])
    fleet = FakeFleet(tasks)
    sizes = config.calendar_sizes
    per_size = max(4, config.fake_users // 10)
    count = config.fake_users + 4 + per_size * len(sizes)
    employee_ids = [
        tasks.desk.add_employee(f"E{i}", f"Employee {i}", f"u{i}@bench.example")
        for i in range(count)
    ]
    stores, users, close = await fake_users(url, employee_ids, now)
    try:
        employees = {u.id: u.employee_id or 0 for u in users}
        bench = FakeBench(fleet, tasks.desk, employees)
        engine = fleet.engine(stores)
        main, scenario_users = users[: config.fake_users], users[config.fake_users :][:4]
        by_size = users[config.fake_users + 4 :]
        groups = {
            size: by_size[index * per_size : (index + 1) * per_size]
            for index, size in enumerate(sizes)
        }
        for size, group in groups.items():
            for user in group:
                bench.inbound(user, now - timedelta(days=1), size, tag="")
        for user in users:  # first cycles: read the window, make the category, and
            bench.push(user, now, 1)  # one linked task each, as every synced user has
            await engine.run_user_cycle(user, now)

        figures: dict[str, Any] = {"ratios": await ratios(engine, bench, scenario_users, now)}
        figures.update(await rounds(config, engine, bench, stores, main, holder))
        figures["users"] = config.fake_users
        figures["by_events_in_window"] = await by_events_in_window(
            config, engine, bench, groups, now
        )
        return figures
    finally:
        await close()


async def rounds(
    config: BenchConfig,
    engine: CycleEngine,
    bench: FakeBench,
    stores: CycleStores,
    users: Sequence[UserRecord],
    holder: dict[str, datetime],
) -> dict[str, Any]:
    """Rounds of one idle and one 5-change cycle per user: CPU of each, and the last
    idle round's database round trips (issue 25: at most 2 on PostgreSQL)."""
    now = holder["now"]
    idle, changed = Timer(), Timer()
    trips = RoundTrips(stores)
    for n in range(1, config.rounds + 1):
        holder["now"] = later(now, 2 * n)
        async with trips:
            for user in users:
                await idle.cycle(engine, user, holder["now"])
        holder["now"] = later(now, 2 * n + 1)
        for user in users:
            bench.push(user, holder["now"], 3)
            bench.inbound(user, holder["now"], 2)
            await changed.cycle(engine, user, holder["now"])
            await engine.run_user_cycle(user, holder["now"] + timedelta(minutes=10))
    figures: dict[str, Any] = {
        "cpu_ms_idle_cycle": idle.ms,
        "cpu_ms_5_change_cycle": changed.ms,
    }
    if trips.engines:  # the last round's (issue 25: at most 2 on PostgreSQL)
        figures.update(trips.per(len(users)))
    trips.close()
    return figures


async def by_events_in_window(
    config: BenchConfig,
    engine: CycleEngine,
    bench: FakeBench,
    groups: dict[int, list[UserRecord]],
    now: datetime,
) -> dict[str, Any]:
    """CPU per idle and 5-change cycle by the user's other events in the window: round by
    round over every size, so what accumulates in the shared fakes (System Five's tasks)
    weighs on each size alike and only the window's size differs."""
    timers = {size: (Timer(), Timer()) for size in groups}
    for n in range(1, config.rounds + 1):
        at = later(now, 100 + 3 * n)
        for size, group in groups.items():
            for user in group:
                await timers[size][0].cycle(engine, user, at)
            for user in group:
                bench.push(user, at, 3)
                bench.inbound(user, at, 2)
                await timers[size][1].cycle(engine, user, at + timedelta(minutes=11))
                await engine.run_user_cycle(user, at + timedelta(minutes=22))
    return {
        str(size): {"cpu_ms_idle_cycle": idle.ms, "cpu_ms_5_change_cycle": changed.ms}
        for size, (idle, changed) in timers.items()
    }


async def ratios(
    engine: CycleEngine, bench: FakeBench, users: Sequence[UserRecord], now: datetime
) -> dict[str, Any]:
    """Each scenario on its own user, after a cycle that settled it."""
    out: dict[str, Any] = {}
    at = later(now, 1)
    names = ("idle", "push_only", "import_only", "mixed")
    for name, user in zip(names, users, strict=True):
        await engine.run_user_cycle(user, at)  # settled
        inbound = bench.scenario(name, user, at)
        result = await engine.run_user_cycle(user, at + timedelta(minutes=11))
        least = minimum(graph_writes(result), inbound)
        out[name] = {
            "requests": requests(result),
            "minimum": least,
            "writes": graph_writes(result),
            "inbound": inbound,
            "ratio": round(requests(result) / least, 2),
        }
    return out
