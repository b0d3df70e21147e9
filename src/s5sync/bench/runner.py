"""The measurements of `s5sync bench` (issue 12; R17, R23b: an idle cycle costs one Graph
request, writes go 20 to a `$batch`).

1. Graph requests per cycle against the physical minimum — idle: 1; k writes and m
   inbound changes: max(1, ceil(m / page)) + ceil(k / 20) — as a ratio;
2. CPU of this process (`time.process_time`) per idle cycle and per cycle with 5
   changes, on in-memory fakes (the engine alone) and against the emulator in its own
   process with the databases in PostgreSQL's processes;
3. throughput: one pass of idle cycles over N users at a set Graph latency, as
   user-cycles per 10 minutes (measured), and 100,000 users extrapolated from the
   measured CPU per cycle;
4. how CPU per cycle grows with users and with events in the window;
5. peak memory of this process (`ru_maxrss`).
"""

from __future__ import annotations

import asyncio
import functools
import math
import resource
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from s5sync.bench.peers import measure_on
from s5sync.bench.roundtrips import RoundTrips
from s5sync.bench.tokens import measure_tokens
from s5sync.bench.world import (
    PAGE,
    TENANT,
    ZONE,
    EmulatorFleet,
    EmulatorProcess,
    FakeFleet,
    add_users,
    open_services,
    scratch_databases,
)
from s5sync.core.decisions import CreateEvent, UpdateEvent
from s5sync.core.records import UserRecord
from s5sync.core.snapshots import StoreOptions
from s5sync.outlook.clients import GraphClients
from s5sync.sync.engine import CycleEngine, CycleResult, CycleStores
from s5sync.testing.cyclestore import MemoryCycleStores
from s5sync.testing.tasks import FakeTaskStore

TEN_MINUTES = 600.0
# Cycles in flight at once, as `s5sync worker --concurrency 48` runs them: at 50 ms a
# Graph request, fewer would leave one process waiting on the network before its CPU is
# busy. A cycle holds a database connection only inside its two short transactions, so
# this may exceed the pool (5 + 10).
CONCURRENCY = 48
SAMPLE = 50  # users measured with 5 changes against the emulator


@dataclass(frozen=True)
class BenchConfig:
    fake_users: int
    rounds: int
    calendar_sizes: tuple[int, ...]
    emulator_users: tuple[int, ...]
    latency_ms: int
    concurrency: int
    quick: bool

    @classmethod
    def sized(cls, *, quick: bool, latency_ms: int = 50) -> BenchConfig:
        if quick:
            return cls(20, 2, (0, 100), (20, 60), latency_ms, CONCURRENCY, True)
        return cls(200, 3, (0, 100, 1000), (1_000, 10_000), latency_ms, CONCURRENCY, False)


def progress(what: str) -> None:
    """One line on stderr, so a 10-minute run says where it is (stdout stays JSON)."""
    print(f"bench: {what}", file=sys.stderr, flush=True)


def graph_writes(result: CycleResult) -> int:
    return sum(isinstance(d, CreateEvent | UpdateEvent) for d in result.decisions)


def minimum(k: int, m: int) -> int:
    """The physical minimum of Graph requests for k writes and m inbound changes."""
    return max(1, math.ceil(m / PAGE)) + math.ceil(k / 20)


def requests(result: CycleResult) -> int:
    return int(result.requests.get("requests", 0))


class Timer:
    """CPU of this process spent inside the cycles only (setup excluded)."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.cycles = 0

    async def cycle(self, engine: CycleEngine, user: UserRecord, now: datetime) -> CycleResult:
        start = time.process_time()
        result = await engine.run_user_cycle(user, now)
        self.cpu += time.process_time() - start
        self.cycles += 1
        return result

    @property
    def ms(self) -> float:
        return round(1000 * self.cpu / max(1, self.cycles), 2)


def later(now: datetime, n: int) -> datetime:
    """The cycles of round n: past every user's next run (interval 10 min)."""
    return now + timedelta(minutes=11 * n)


# -- the engine alone, on fakes -----------------------------------------------------------


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
        for index, size in enumerate(sizes):
            for user in by_size[index * per_size : (index + 1) * per_size]:
                bench.inbound(user, now - timedelta(days=1), size, tag="")
        for user in users:  # first cycles: read the window, make the category, and
            bench.push(user, now, 1)  # one linked task each, as every synced user has
            await engine.run_user_cycle(user, now)

        figures: dict[str, Any] = {"ratios": await ratios(engine, bench, scenario_users, now)}
        idle, changed = Timer(), Timer()
        trips = RoundTrips(stores)
        for n in range(1, config.rounds + 1):
            holder["now"] = later(now, 2 * n)
            async with trips:
                for user in main:
                    await idle.cycle(engine, user, holder["now"])
            holder["now"] = later(now, 2 * n + 1)
            for user in main:
                bench.push(user, holder["now"], 3)
                bench.inbound(user, holder["now"], 2)
                await changed.cycle(engine, user, holder["now"])
                await engine.run_user_cycle(user, holder["now"] + timedelta(minutes=10))
        figures["cpu_ms_idle_cycle"] = idle.ms
        figures["cpu_ms_5_change_cycle"] = changed.ms
        if trips.engines:  # the last round's (issue 25: at most 2 on PostgreSQL)
            figures.update(trips.per(len(main)))
        trips.close()
        figures["users"] = config.fake_users

        # Round by round over every size, so what accumulates in the shared fakes (System
        # Five's tasks) weighs on each size alike and only the window's size differs.
        groups = {
            size: by_size[index * per_size : (index + 1) * per_size]
            for index, size in enumerate(sizes)
        }
        timers = {size: (Timer(), Timer()) for size in sizes}
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
        growth: dict[str, Any] = {
            str(size): {"cpu_ms_idle_cycle": idle.ms, "cpu_ms_5_change_cycle": changed.ms}
            for size, (idle, changed) in timers.items()
        }
        figures["by_events_in_window"] = growth
        return figures
    finally:
        await close()


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


# -- the worker against the emulator ------------------------------------------------------


async def run_emulator(config: BenchConfig, urls: dict[str, str], now: datetime) -> dict[str, Any]:
    from s5emu.desk import Desk
    from s5emu.schema import create_schema, engine_for
    from s5sync.systemfive.adapter import SqlTaskStore

    emulator = EmulatorProcess()
    emulator.start()
    create_schema(urls["s5"])
    desk = Desk(engine_for(urls["s5"]))
    services, tenant_id = await open_services(urls["ce"], urls["s5"], now)
    emulator.call("POST", "latency", {"ms": config.latency_ms})
    verify = ssl.create_default_context(cafile=emulator.urls["ca"])
    graph = GraphClients(emulator.urls["graph"], verify, timeout=60.0)
    tasks = SqlTaskStore(urls["s5"], "America/New_York")
    fleet = EmulatorFleet(services, tasks, graph, {})
    engine = fleet.engine()
    users: list[UserRecord] = []
    figures: dict[str, Any] = {"throughput": {}}
    trips = RoundTrips(services)
    serial = 0
    try:
        for size in config.emulator_users:
            progress(f"{size:,} users against the emulator: setting up")
            start = len(users)
            emails = [f"u{i}@bench.example" for i in range(start, size)]
            setup = time.monotonic()
            fleet.tokens.update(await asyncio.to_thread(emulator.add_mailboxes, TENANT, emails))
            employees = desk.add_employees([(e.split("@")[0], e, e) for e in emails])
            # The sample measured with 5 changes has one linked task each, as synced
            # users have (a user with no link at all pays one look-up, cycle._recover).
            for employee in employees[: SAMPLE if start == 0 else 0]:
                serial += 1
                desk.create_task(delivery(employee, now + timedelta(days=2), serial))
            users += await add_users(services, tenant_id, employees, now, start, category=True)
            await in_parallel(
                config.concurrency, users[start:], lambda u: engine.run_user_cycle(u, now)
            )
            if start == 0:  # the sample's events made above come back in the next delta
                await in_parallel(
                    config.concurrency,
                    users,
                    functools.partial(first, engine, now=now + timedelta(minutes=1)),
                )
            setup = time.monotonic() - setup
            progress(f"{size:,} users: one pass of idle cycles")
            at = later(now, len(figures["throughput"]) + 1)
            cpu0, wall0, emu0 = time.process_time(), time.monotonic(), emulator.cpu_seconds()
            async with trips:
                results = await in_parallel(
                    config.concurrency, users, functools.partial(first, engine, now=at)
                )
            wall = time.monotonic() - wall0
            cpu = time.process_time() - cpu0
            emu = emulator.cpu_seconds() - emu0
            total = sum(requests(r) for r in results)
            figures["throughput"][str(size)] = {
                "users": size,
                "wall_s": round(wall, 1),
                "cpu_ms_idle_cycle": round(1000 * cpu / size, 2),
                "emulator_cpu_ms_per_cycle": round(1000 * emu / size, 2),
                "user_cycles_per_10_min_measured": round(size / wall * TEN_MINUTES),
                "user_cycles_per_10_min_cpu_bound": round(TEN_MINUTES * size / max(cpu, 1e-9)),
                "requests_per_idle_cycle": round(total / size, 3),
                "idle_ratio": round(total / size / minimum(0, 0), 2),
                "outcomes": sorted({r.outcome for r in results}),
                "setup_s": round(setup, 1),
                **trips.per(size),
            }

        progress("Graph clients side by side: s5sync, msgraph-sdk, httpx, aiohttp")
        figures["graph_clients"] = await measure_on(emulator, TENANT, quick=config.quick)
        emulator.call("POST", "latency", {"ms": config.latency_ms})

        # CPU per cycle with 5 changes (3 pushes, 2 imports) on a sample of users
        sample = users[: min(SAMPLE, config.emulator_users[0])]
        at = later(now, 50)
        token_http = httpx.AsyncClient(base_url=emulator.urls["graph"], verify=verify)
        for user in sample:
            for _ in range(3):
                serial += 1
                desk.create_task(delivery(user.employee_id or 0, at + timedelta(days=2), serial))
            for _ in range(2):
                serial += 1
                begin = at + timedelta(days=3, minutes=serial)
                await token_http.post(
                    "/me/events",
                    headers={"Authorization": f"Bearer {fleet.tokens[user.email]}"},
                    json={
                        "subject": f"Visit {serial} [sync]",
                        "start": {
                            "dateTime": begin.strftime("%Y-%m-%dT%H:%M:%S"),
                            "timeZone": "UTC",
                        },
                        "end": {
                            "dateTime": (begin + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                            "timeZone": "UTC",
                        },
                    },
                )
        await token_http.aclose()
        changed = Timer()
        ratio_sum = 0.0
        for user in sample:
            result = await changed.cycle(engine, user, at)
            ratio_sum += requests(result) / minimum(graph_writes(result), 2)
        figures["cpu_ms_5_change_cycle"] = changed.ms
        figures["mixed_ratio"] = round(ratio_sum / len(sample), 2)
        last = figures["throughput"][str(config.emulator_users[-1])]
        figures["cpu_ms_idle_cycle"] = last["cpu_ms_idle_cycle"]
        figures["user_cycles_per_10_min_100000_extrapolated"] = round(
            TEN_MINUTES * 1000 / max(last["cpu_ms_idle_cycle"], 1e-6)
        )
        progress(f"the token path: {len(sample)} users signed in through MSAL")
        tokens = await measure_tokens(emulator, services, sample)
        figures["token_path"] = tokens
        with_token = last["cpu_ms_idle_cycle"] + tokens["cpu_ms_per_cycle"]
        figures["cpu_ms_idle_cycle_with_token"] = round(with_token, 2)
        figures["user_cycles_per_10_min_100000_extrapolated_with_token"] = round(
            TEN_MINUTES * 1000 / max(with_token, 1e-6)
        )
        return figures
    finally:
        trips.close()
        await graph.aclose()
        await tasks.close()
        await services.aclose()
        desk.engine.dispose()
        emulator.stop()


def delivery(employee_id: int, day: datetime, serial: int) -> Any:
    """A System Five delivery task on `day` (sync on), as the appointment editor saves it."""
    from s5emu.desk import TaskForm

    begin = (day + timedelta(minutes=serial % 600)).replace(tzinfo=None)
    return TaskForm(
        kind="delivery",
        employee_id=employee_id,
        customer_id=None,
        title=f"Delivery {serial}",
        notes="",
        starts_at=begin,
        ends_at=begin + timedelta(hours=1),
        alarm_minutes=None,
        sync=True,
    )


async def first(engine: CycleEngine, user: UserRecord, now: datetime) -> CycleResult:
    return await engine.run_user_cycle(user, now)


async def in_parallel(
    limit: int, users: Sequence[UserRecord], run: Callable[[UserRecord], Awaitable[CycleResult]]
) -> list[CycleResult]:
    gate = asyncio.Semaphore(limit)

    async def one(user: UserRecord) -> CycleResult:
        async with gate:
            return await run(user)

    return list(await asyncio.gather(*(one(u) for u in users)))


async def run_bench(config: BenchConfig) -> dict[str, Any]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    started = time.monotonic()
    async with scratch_databases(("fakes", "ce", "s5")) as urls:
        backend = "postgresql" if urls["ce"].startswith("postgresql") else "sqlite"
        progress("the engine alone, on fakes")
        fakes = await run_fakes(config, None, now)
        progress("the engine on fakes, CALENDAREVENT in the database")
        stored = await run_fakes(config, urls["fakes"], now)
        emulator = await run_emulator(config, urls, now)
    return {
        "config": asdict(config),
        "database": backend,
        "engine_on_fakes": fakes,
        "engine_with_database": stored,
        "worker_on_emulator": emulator,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "elapsed_s": round(time.monotonic() - started, 1),
        "notes": [
            "measured: every figure except the one named *_extrapolated",
            "engine alone: System Five, Outlook and the CALENDAREVENT rows in memory "
            "(s5sync.testing); engine with database: the same with CALENDAREVENT in "
            "the database named",
            "events in the window: events of the user's own (untagged, unlinked), which "
            "an idle cycle must not pay for",
            "extrapolated: 100,000 users = 10 minutes of CPU / measured CPU per idle cycle "
            "at the largest measured size",
            "worker CPU = time.process_time() of this process; the emulator and the "
            "databases run in other processes",
            "tokens: the cycles above take them from the emulator's control plane; the "
            "token path (sealed MSAL cache loaded, MSAL's answer, a refresh one cycle in "
            "six) is measured on a sample signed in through MSAL and added in "
            "*_with_token",
        ],
    }
