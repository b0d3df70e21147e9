"""Two cycles of the same user started at once: one runs, the other says busy, and no
event or task is made twice (R16); a cycle whose lease was taken over cannot write any
CALENDAREVENT row (its fencing token is stale) and so sends nothing (DESIGN.md "Writing
without duplicates")."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.core.snapshots import TaskSnapshot
from s5sync.sync.engine import CycleEngine
from s5sync.sync.ports import TaskStore, UserPorts
from s5sync.testing.crashing import CrashingTaskStore, WritePlan
from support.busy_cycles import SCRIPT, assert_no_duplicates, busy_world
from support.cycle_stack import Stack
from support.emulated_world import ALICE, LATER, NOW, env_file, links


async def test_two_cycles_started_at_once_one_runs_R16(world: Stack) -> None:
    busy_world(world)
    world.control("POST", "/latency", {"ms": 50})  # each cycle spans several requests
    first, second = await asyncio.gather(world.cycle(ALICE, NOW), world.cycle(ALICE, NOW))
    assert sorted([first.outcome, second.outcome]) == ["busy", "ok"]
    assert_no_duplicates(world)
    world.control("POST", "/latency", {"ms": 0})
    after = await world.cycle(ALICE, NOW + LATER)
    assert after.wrote == 0


async def test_two_processes_started_at_once_one_runs_R16(world: Stack, tmp_path: Path) -> None:
    busy_world(world)
    env = env_file(world, tmp_path / "s5sync.env")
    world.control("POST", "/latency", {"ms": 100})
    command = [sys.executable, str(SCRIPT), str(env), ALICE, NOW.isoformat(), "0", "after"]
    procs = [
        await asyncio.create_subprocess_exec(
            *command,
            "wait",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert (await proc.stdout.readline()).strip() == b"ready"
    outcomes = []
    answers = await asyncio.gather(*(proc.communicate(b"go\n") for proc in procs))
    for proc, (out, err) in zip(procs, answers, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
        outcomes.append(out.decode().split()[0])
    world.control("POST", "/latency", {"ms": 0})
    assert sorted(outcomes) == ["busy", "ok"]
    assert_no_duplicates(world)


class TakenOver(CrashingTaskStore):
    """System Five as read by a cycle that stalls: while it reads, its lease expires and
    another cycle takes the user over and runs to the end."""

    def __init__(self, inner: TaskStore, takeover: object) -> None:
        super().__init__(inner, WritePlan())
        self.takeover = takeover

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        stale = await self.inner.push_candidates(employee_id)
        await self.takeover()  # type: ignore[operator]
        return stale


async def test_a_stale_cycle_cannot_write_after_its_lease_was_taken_over_R16(
    world: Stack,
) -> None:
    busy_world(world)
    later = NOW + timedelta(minutes=9)  # past the stalled cycle's lease
    takeovers = []

    async def takeover() -> None:
        takeovers.append(await world.cycle(ALICE, later))

    @asynccontextmanager
    async def ports_for(user: UserRecord, tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        async with world.services.ports_for(user, tenant) as ports:
            yield UserPorts(TakenOver(ports.tasks, takeover), ports.calendar, ports.requests)

    stale = CycleEngine(world.services, ports_for, holder="stalled")
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        user = await unit.users.get(world.users[ALICE].id)
    result = await stale.run_user_cycle(user, NOW)
    [fresh] = takeovers
    assert fresh.outcome == "ok", fresh.error
    assert result.outcome == "failed"
    assert result.error is not None
    assert "LeaseLost" in result.error
    assert_no_duplicates(world)
    assert len(await links(world, ALICE)) == 4
    after = await world.cycle(ALICE, later + LATER)
    assert after.outcome == "ok", after.error
    assert after.wrote == 0
