"""The worker against the Microsoft 365 emulator in its own process, the databases in
PostgreSQL's: throughput of idle passes over N users, CPU per 5-change cycle, the Graph
clients side by side and the token path (issue 12)."""

from __future__ import annotations

import asyncio
import functools
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
