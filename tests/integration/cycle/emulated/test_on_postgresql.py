"""The cycle's guarantees with the CALENDAREVENT database on PostgreSQL, as in
production: one cycle at a time (the lease is one atomic UPDATE; the fence is read
`FOR UPDATE`), a stale cycle stopped by its fence, a process killed after a create
repaired without a duplicate, and an idle cycle of one request (R16, R17)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import anyio

from support.busy_cycles import (
    SCRIPT,
    assert_no_duplicates,
    assert_settled,
    busy_world,
    prepare_busy_cycle,
)
from support.cycle_stack import Stack
from support.emulated_world import ALICE, LATER, NOW, env_file


async def test_two_cycles_at_once_on_postgresql_one_runs_R16(pg_world: Stack) -> None:
    busy_world(pg_world)
    pg_world.control("POST", "/latency", {"ms": 50})
    first, second = await asyncio.gather(pg_world.cycle(ALICE, NOW), pg_world.cycle(ALICE, NOW))
    pg_world.control("POST", "/latency", {"ms": 0})
    assert sorted([first.outcome, second.outcome]) == ["busy", "ok"]
    assert_no_duplicates(pg_world)
    idle = await pg_world.cycle(ALICE, NOW + LATER)
    assert idle.wrote == 0, idle.entries
    assert sum(idle.requests.values()) == 1


async def test_a_process_killed_after_a_create_on_postgresql_is_repaired_R16(
    pg_world: Stack, tmp_path: Path
) -> None:
    ids = await prepare_busy_cycle(pg_world)
    env = env_file(pg_world, tmp_path / "s5sync.env")
    busy = NOW + LATER
    done = await anyio.run_process(
        [sys.executable, str(SCRIPT), str(env), ALICE, busy.isoformat(), "2", "after"],
        check=False,
    )
    assert done.returncode == -9, done.stderr[-2000:]
    repair = await pg_world.cycle(ALICE, busy + LATER)
    assert repair.outcome == "ok", repair.error
    await assert_settled(pg_world, ids, busy + LATER)
