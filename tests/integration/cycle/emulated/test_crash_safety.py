"""Crash safety of the cycle (R16, issue 9 "Must show"): over a busy cycle — two new
synced tasks, a changed one, a new tagged event, a changed tagged event: five writes —
every write in turn fails: (a) with an exception, or a cancellation; (b) by SIGKILL of a
subprocess running the cycle, so no cleanup code runs; (c) with the emulator's
applied-then-timed-out fault on each create. Then the next cycle leaves exactly one
event per task and one task per event, nothing lost, and the cycle after it is idle."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from m365emu.faults import Fault, FaultKind
from s5sync.core.records import TenantRecord, UserRecord
from s5sync.sync.engine import CycleEngine
from s5sync.sync.ports import UserPorts
from s5sync.testing.crashing import CrashingCalendar, CrashingTaskStore, WritePlan
from support.busy_cycles import SCRIPT, assert_settled, prepare_busy_cycle
from support.cycle_stack import Stack
from support.emulated_world import (
    ALICE,
    LATER,
    NOW,
    env_file,
)

BUSY_WRITES = 5


def crashing_engine(world: Stack, plan: WritePlan) -> CycleEngine:
    @asynccontextmanager
    async def ports_for(user: UserRecord, tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        async with world.services.ports_for(user, tenant) as ports:
            yield UserPorts(
                CrashingTaskStore(ports.tasks, plan),
                CrashingCalendar(ports.calendar, plan),
                ports.requests,
            )

    return CycleEngine(world.services, ports_for, holder="crashing")


async def run_crashing(world: Stack, plan: WritePlan, now: datetime) -> None:
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        user = await unit.users.get(world.users[ALICE].id)
    await crashing_engine(world, plan).run_user_cycle(user, now)


async def test_the_busy_cycle_makes_five_writes(world: Stack) -> None:
    ids = await prepare_busy_cycle(world)
    plan = WritePlan()
    await run_crashing(world, plan, NOW + LATER)
    assert plan.count == BUSY_WRITES, plan.done
    await assert_settled(world, ids, NOW + LATER)


def cancel() -> None:
    raise asyncio.CancelledError


FAILURES = [
    *[("exception", at, after) for at in range(1, BUSY_WRITES + 1) for after in (True, False)],
    # A cancelled task runs its `finally`s but not the cycle's own recording: at the
    # first create, the update, and the last task write.
    *[("cancelled", at, True) for at in (1, 3, 5)],
]


@pytest.mark.parametrize(("how", "at", "after"), FAILURES)
async def test_a_failure_at_any_write_is_repaired_by_the_next_cycle_R16(
    world: Stack, at: int, after: bool, how: str
) -> None:
    ids = await prepare_busy_cycle(world)
    fail: Callable[[], None] = cancel if how == "cancelled" else WritePlan().fail
    plan = WritePlan(at=at, after=after, fail=fail)
    busy = NOW + LATER
    if how == "cancelled":
        with pytest.raises(asyncio.CancelledError):
            await run_crashing(world, plan, busy)
    else:
        await run_crashing(world, plan, busy)
    # R23: an ordinary failure of one task write is reported and the rest goes on.
    assert plan.count >= at - (0 if after else 1), plan.done
    # A cancelled cycle keeps its lease until it expires: the next one comes later.
    repair = busy + LATER
    result = await world.cycle(ALICE, repair)
    assert result.outcome == "ok", result.error
    await assert_settled(world, ids, repair)


# Every write killed once its effect is applied (the case that could duplicate; a kill
# before a write leaves what the exception variant leaves). Subprocesses cost ~3 s each.
KILLS = [(at, True) for at in range(1, BUSY_WRITES + 1)]


@pytest.mark.parametrize(("at", "after"), KILLS)
async def test_a_process_killed_at_any_write_is_repaired_by_the_next_cycle_R16(
    world: Stack, tmp_path: Path, at: int, after: bool
) -> None:
    ids = await prepare_busy_cycle(world)
    env = env_file(world, tmp_path / "s5sync.env")
    busy = NOW + LATER
    mode = "after" if after else "before"
    done = await anyio.run_process(
        [sys.executable, str(SCRIPT), str(env), ALICE, busy.isoformat(), str(at), mode],
        check=False,
    )
    assert done.returncode == -9, (done.stdout, done.stderr[-2000:])
    repair = busy + LATER  # the dead process's lease has expired by then
    result = await world.cycle(ALICE, repair)
    assert result.outcome == "ok", result.error
    await assert_settled(world, ids, repair)


@pytest.mark.parametrize(("at", "path"), [(1, "/me/events"), (2, "/me/events"), (1, "/$batch")])
async def test_a_create_applied_then_timed_out_is_not_made_twice_R16(
    world: Stack, at: int, path: str
) -> None:
    ids = await prepare_busy_cycle(world)

    def arm() -> None:
        world.running.emulator.faults.add(
            Fault("POST", path, FaultKind.APPLIED_THEN_TIMEOUT, timeout_seconds=0.05)
        )

    plan = WritePlan(at=at, after=False, fail=arm)
    busy = NOW + LATER
    fired = world.running.emulator.faults.fired
    before = fired.get(FaultKind.APPLIED_THEN_TIMEOUT, 0)
    await run_crashing(world, plan, busy)
    assert plan.count == BUSY_WRITES
    assert fired.get(FaultKind.APPLIED_THEN_TIMEOUT, 0) == before + 1
    # Whatever this cycle concluded, the next one settles it.
    result = await world.cycle(ALICE, busy + LATER)
    assert result.outcome == "ok", result.error
    await assert_settled(world, ids, busy + LATER)
