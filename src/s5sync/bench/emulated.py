"""The worker against the Microsoft 365 emulator in its own process, the databases in
PostgreSQL's: throughput of idle passes over N users, CPU per 5-change cycle, the Graph
clients side by side and the token path (issue 12)."""

from __future__ import annotations

import asyncio
import functools
import gc
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from s5sync.bench.measure import (
    SAMPLE,
    TEN_MINUTES,
    BenchConfig,
    Timer,
    graph_writes,
    later,
    minimum,
    progress,
    requests,
)
from s5sync.bench.peers import measure_on
from s5sync.bench.roundtrips import RoundTrips
from s5sync.bench.tokens import measure_tokens
from s5sync.bench.world import TENANT, EmulatorFleet, EmulatorProcess, add_users, open_services
from s5sync.core.records import UserRecord
from s5sync.outlook.clients import GraphClients
from s5sync.sync.engine import CycleEngine, CycleResult


class EmulatorBench:
    """The worker's run against the emulator, phase by phase: users added in steps with
    one idle pass each, the Graph clients side by side, a sample's 5-change cycles and
    its token path. Holds what the phases share (the emulator, System Five's desk, the
    services and the engine) and the users made so far."""

    def __init__(self, config: BenchConfig, urls: dict[str, str], now: datetime) -> None:
        from s5emu.desk import Desk
        from s5emu.schema import create_schema, engine_for
        from s5sync.systemfive.adapter import SqlTaskStore

        self.config, self.urls, self.now = config, urls, now
        self.emulator = EmulatorProcess()
        self.emulator.start()
        create_schema(urls["s5"])
        self.desk = Desk(engine_for(urls["s5"]))
        self.verify = ssl.create_default_context(cafile=self.emulator.urls["ca"])
        self.graph = GraphClients(self.emulator.urls["graph"], self.verify, timeout=60.0)
        self.tasks = SqlTaskStore(urls["s5"], "America/New_York")
        self.users: list[UserRecord] = []
        self.serial = 0

    async def open(self) -> None:
        self.services, self.tenant_id = await open_services(
            self.urls["ce"], self.urls["s5"], self.now
        )
        self.emulator.call("POST", "latency", {"ms": self.config.latency_ms})
        self.fleet = EmulatorFleet(self.services, self.tasks, self.graph, {})
        self.engine = self.fleet.engine()
        self.trips = RoundTrips(self.services)

    async def close(self) -> None:
        if hasattr(self, "trips"):
            self.trips.close()
        await self.graph.aclose()
        await self.tasks.close()
        if hasattr(self, "services"):
            await self.services.aclose()
        self.desk.engine.dispose()
        self.emulator.stop()

    def next_delivery(self, employee_id: int, day: datetime) -> None:
        self.serial += 1
        self.desk.create_task(delivery(employee_id, day, self.serial))

    async def grow_to(self, size: int) -> float:
        """Users up to `size`, each past its first cycles; the seconds it took."""
        progress(f"{size:,} users against the emulator: setting up")
        start = len(self.users)
        emails = [f"u{i}@bench.example" for i in range(start, size)]
        setup = time.monotonic()
        mailboxes = await asyncio.to_thread(self.emulator.add_mailboxes, TENANT, emails)
        self.fleet.tokens.update(mailboxes)
        employees = self.desk.add_employees([(e.split("@")[0], e, e) for e in emails])
        # The sample measured with 5 changes has one linked task each, as synced
        # users have (a user with no link at all pays one look-up, cycle._recover).
        for employee in employees[: SAMPLE if start == 0 else 0]:
            self.next_delivery(employee, self.now + timedelta(days=2))
        self.users += await add_users(
            self.services, self.tenant_id, employees, self.now, start, category=True
        )
        engine, limit = self.engine, self.config.concurrency
        await in_parallel(limit, self.users[start:], lambda u: engine.run_user_cycle(u, self.now))
        if start == 0:  # the sample's events made above come back in the next delta
            after = self.now + timedelta(minutes=1)
            await in_parallel(limit, self.users, functools.partial(first, engine, now=after))
        return time.monotonic() - setup

    async def idle_pass(self, size: int, setup: float, at: datetime) -> dict[str, Any]:
        """One pass of idle cycles over every user: throughput, CPU, requests."""
        progress(f"{size:,} users: one pass of idle cycles")
        emulator = self.emulator
        # The setup's garbage is the setup's: a full collection its allocations brought due
        # (≈ 110 ms at 60 users, seen landing in a 60-cycle pass) is run before the clock.
        gc.collect()
        cpu0, wall0, emu0 = time.process_time(), time.monotonic(), emulator.cpu_seconds()
        async with self.trips:
            results = await in_parallel(
                self.config.concurrency, self.users, functools.partial(first, self.engine, now=at)
            )
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        emu = emulator.cpu_seconds() - emu0
        total = sum(requests(r) for r in results)
        return {
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
            **self.trips.per(size),
        }

    async def user_creates_tagged(
        self, http: httpx.AsyncClient, user: UserRecord, at: datetime
    ) -> None:
        self.serial += 1
        begin = at + timedelta(days=3, minutes=self.serial)
        when = "%Y-%m-%dT%H:%M:%S"
        await http.post(
            "/me/events",
            headers={"Authorization": f"Bearer {self.fleet.tokens[user.email]}"},
            json={
                "subject": f"Visit {self.serial} [sync]",
                "start": {"dateTime": begin.strftime(when), "timeZone": "UTC"},
                "end": {"dateTime": (begin + timedelta(hours=1)).strftime(when), "timeZone": "UTC"},
            },
        )

    async def five_changes(self, sample: Sequence[UserRecord]) -> dict[str, Any]:
        """CPU per cycle with 5 changes (3 pushes, 2 imports) on a sample of users."""
        at = later(self.now, 50)
        token_http = httpx.AsyncClient(base_url=self.emulator.urls["graph"], verify=self.verify)
        for user in sample:
            for _ in range(3):
                self.next_delivery(user.employee_id or 0, at + timedelta(days=2))
            for _ in range(2):
                await self.user_creates_tagged(token_http, user, at)
        await token_http.aclose()
        changed = Timer()
        ratio_sum = 0.0
        for user in sample:
            result = await changed.cycle(self.engine, user, at)
            ratio_sum += requests(result) / minimum(graph_writes(result), 2)
        return {
            "cpu_ms_5_change_cycle": changed.ms,
            "mixed_ratio": round(ratio_sum / len(sample), 2),
        }


async def run_emulator(config: BenchConfig, urls: dict[str, str], now: datetime) -> dict[str, Any]:
    """The worker against the emulator: every figure of `worker_on_emulator`."""
    bench = EmulatorBench(config, urls, now)
    figures: dict[str, Any] = {"throughput": {}}
    try:
        await bench.open()
        for size in config.emulator_users:
            setup = await bench.grow_to(size)
            at = later(now, len(figures["throughput"]) + 1)
            figures["throughput"][str(size)] = await bench.idle_pass(size, setup, at)

        progress("Graph clients side by side: s5sync, msgraph-sdk, httpx, aiohttp")
        figures["graph_clients"] = await measure_on(bench.emulator, TENANT, quick=config.quick)
        bench.emulator.call("POST", "latency", {"ms": config.latency_ms})
        sample = bench.users[: min(SAMPLE, config.emulator_users[0])]
        figures.update(await bench.five_changes(sample))
        last = figures["throughput"][str(config.emulator_users[-1])]
        figures["cpu_ms_idle_cycle"] = last["cpu_ms_idle_cycle"]
        figures["user_cycles_per_10_min_100000_extrapolated"] = round(
            TEN_MINUTES * 1000 / max(last["cpu_ms_idle_cycle"], 1e-6)
        )
        progress(f"the token path: {len(sample)} users signed in through MSAL")
        tokens = await measure_tokens(bench.emulator, bench.services, sample)
        figures["token_path"] = tokens
        with_token = last["cpu_ms_idle_cycle"] + tokens["cpu_ms_per_cycle"]
        figures["cpu_ms_idle_cycle_with_token"] = round(with_token, 2)
        figures["user_cycles_per_10_min_100000_extrapolated_with_token"] = round(
            TEN_MINUTES * 1000 / max(with_token, 1e-6)
        )
        return figures
    finally:
        await bench.close()


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
