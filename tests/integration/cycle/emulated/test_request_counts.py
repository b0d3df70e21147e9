"""Graph requests per cycle equal DESIGN.md's minimum (R17, R23b): with p = 100 items per
delta page, a cycle that finds m changed items and makes k writes costs
max(1, ceil(m/p)) + ceil(k/20); the first read of the window, the category's creation
and recovery lookups are reported apart (`CycleResult.phases`, the sync_run counts)."""

from __future__ import annotations

import math
from datetime import timedelta

from s5sync.sync.engine import CycleResult
from support.cycle_stack import Stack
from support.emulated_world import (
    ALICE,
    NOW,
    Ticker,
    all_tasks,
    create_events,
    edit_event,
    save_task,
)

PAGE = 100


async def ok(world: Stack, clock: Ticker) -> CycleResult:
    result = await world.cycle(ALICE, clock.next())
    assert result.outcome == "ok", result.error
    return result


def minimum(m: int, k: int) -> int:
    return max(1, math.ceil(m / PAGE)) + math.ceil(k / 20)


async def test_first_cycle_reports_first_read_and_category_apart_R3(world: Stack) -> None:
    world.add_task(ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    first = await world.cycle(ALICE, NOW)
    assert first.phases == {"first_read": 1, "category": 2, "writes": 1}
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        [run] = await unit.runs.runs(world.users[ALICE].id)
    assert run.counts["requests_first_read"] == 1
    assert run.counts["requests_category"] == 2
    assert run.counts["requests_writes"] == 1
    assert run.counts["graph_requests"] == 4


async def test_idle_cycle_costs_one_request_R17(world: Stack) -> None:
    clock = Ticker()
    await world.cycle(ALICE, clock.now)
    for _ in range(3):
        idle = await ok(world, clock)
        assert idle.phases == {"delta": 1}
        assert sum(idle.requests.values()) == minimum(0, 0) == 1


async def test_push_only_cycle_costs_one_read_and_a_batch_per_twenty_creates_R23b(
    world: Stack,
) -> None:
    clock = Ticker()
    await world.cycle(ALICE, clock.now)
    k = 25
    for i in range(k):
        day = 26 + i % 5
        world.add_task(
            ALICE,
            "customer",
            f"Visit {i}",
            f"2026-11-{day}T{8 + i // 5:02d}:00:00",
            f"2026-11-{day}T{9 + i // 5:02d}:00:00",
        )
    push = await ok(world, clock)
    assert push.wrote == k
    assert push.phases == {"delta": 1, "writes": math.ceil(k / 20)}
    assert sum(push.requests.values()) == minimum(0, k) == 3
    # The next cycle reads our own 25 echoes in one page and writes nothing.
    echo = await ok(world, clock)
    assert echo.wrote == 0
    assert echo.phases == {"delta": minimum(k, 0)}
    assert len(world.events(ALICE)) == k


async def test_import_only_cycle_costs_one_read_per_page_R23b(world: Stack) -> None:
    clock = Ticker()
    await world.cycle(ALICE, clock.now)
    m = 120
    create_events(world, ALICE, [f"Job {i} [sync]" for i in range(m)], NOW + timedelta(days=1))
    imported = await ok(world, clock)
    assert imported.wrote == m
    assert imported.phases == {"delta": math.ceil(m / PAGE)}
    assert sum(imported.requests.values()) == minimum(m, 0) == 2
    assert len(all_tasks(world)) == m
    idle = await ok(world, clock)
    assert idle.phases == {"delta": 1}


async def test_mixed_cycle_costs_the_minimum_R23b(world: Stack) -> None:
    clock = Ticker()
    changed = world.add_task(
        ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00"
    )
    await world.cycle(ALICE, clock.now)
    [pushed] = world.events(ALICE)
    await ok(world, clock)  # reads the echo of the push
    save_task(world, changed, title="Visit, moved")
    for i in range(3):
        world.add_task(
            ALICE, "delivery", f"Delivery {i}", f"2026-11-28T1{i}:00:00", f"2026-11-28T1{i}:30:00"
        )
    create_events(world, ALICE, ["Survey [sync]", "Quote [sync]"], NOW + timedelta(days=2))
    edit_event(world, ALICE, pushed["id"], location={"displayName": "Shop"})
    mixed = await ok(world, clock)
    k = 4  # three creates and one update in Outlook; two imports write System Five only
    m = 3  # two new events and one edited
    assert mixed.wrote == k + 2
    assert mixed.phases == {"delta": 1, "writes": 1}
    assert sum(mixed.requests.values()) == minimum(m, k) == 2
