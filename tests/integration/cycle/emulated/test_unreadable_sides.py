"""A side that cannot be read stops only the direction that needs it (R17b); a long
throttle ends the cycle with the user's next due time set to Graph's retry time (R23b);
a revoked user stops alone (R19b). Through the real connectors and both emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.core.snapshots import TaskSnapshot
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession, RetryPolicy
from s5sync.outlook.tokens import StoredTokenCache, UserTokens
from s5sync.sync.engine import CycleEngine, CycleResult
from s5sync.sync.ports import TaskStore, UserPorts
from s5sync.testing.crashing import CrashingTaskStore, WritePlan
from support.cycle_stack import Stack
from support.emulated_world import (
    ALICE,
    BOB,
    LATER,
    NOW,
    all_tasks,
    create_event,
    revoke,
    save_task,
)


class Unreachable(CrashingTaskStore):
    """System Five's database does not answer."""

    def __init__(self, inner: TaskStore) -> None:
        super().__init__(inner, WritePlan())

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        raise ConnectionRefusedError("System Five is down")

    async def tasks_by_id(self, task_ids: Sequence[int]) -> dict[int, TaskSnapshot]:
        raise ConnectionRefusedError("System Five is down")


def engine(world: Stack, *, s5_down: bool = False) -> CycleEngine:
    """The production ports, with a Graph session that gives up after two quick tries
    (the retry policy is not what these tests are about) and System Five maybe down."""
    services = world.services

    @asynccontextmanager
    async def ports_for(user: UserRecord, tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        counter = RequestCounter()
        tokens = UserTokens(
            services.identity(),
            StoredTokenCache(services.scope(user.tenant_id), user.id),
            object_id=user.object_id,
        )
        policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
        session = GraphSession(services.graph_http(), tokens, counter=counter, policy=policy)
        tasks = await services.task_store(tenant)

        def requests() -> dict[str, int]:
            return {f"{m} {r}": n for (m, r, _), n in counter.by_key.items()}

        yield UserPorts(Unreachable(tasks) if s5_down else tasks, GraphCalendar(session), requests)

    return CycleEngine(services, ports_for, holder="impatient")


async def cycle(world: Stack, now: datetime, *, s5_down: bool = False) -> CycleResult:
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        user = await unit.users.get(world.users[ALICE].id)
    return await engine(world, s5_down=s5_down).run_user_cycle(user, now)


async def pushed_and_imported(world: Stack, now: datetime = NOW) -> int:
    """A first cycle at `now` pushes a task; then a task changes, a task is new, and a
    tagged event is new, all in the days after `now`. Returns the changed task's id."""
    day = (now + timedelta(days=2)).date()
    changed = world.add_task(ALICE, "customer", "Visit", f"{day}T10:00:00", f"{day}T11:00:00")
    first = await cycle(world, now)
    assert first.outcome == "ok", first.error
    save_task(world, changed, title="Visit, moved")
    day = (now + timedelta(days=3)).date()
    world.add_task(ALICE, "delivery", "New delivery", f"{day}T10:00:00", f"{day}T11:00:00")
    create_event(world, ALICE, "Measure [sync]", now + timedelta(days=2))
    return changed


async def test_system_five_unreachable_writes_nothing_anywhere_and_says_so_R17b(
    world: Stack,
) -> None:
    await pushed_and_imported(world)
    before = {e["id"]: e["changeKey"] for e in world.events(ALICE)}
    down = await cycle(world, NOW + LATER, s5_down=True)
    assert down.outcome == "partial"
    assert down.error is not None
    assert "System Five could not be read" in down.error
    assert down.decisions == ()
    assert down.phases == {"delta": 1}  # read, and nothing written to Outlook
    assert {e["id"]: e["changeKey"] for e in world.events(ALICE)} == before
    assert [t.title for t in all_tasks(world)] == ["Visit, moved", "New delivery"]
    assert [e.action for e in down.entries] == ["partial"]
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        [last, *_] = await unit.runs.activity(world.users[ALICE].id)
    assert "System Five could not be read" in last.message
    back = await cycle(world, NOW + 2 * LATER)
    assert back.outcome == "ok", back.error
    assert sorted(e.action for e in back.entries) == ["create_event", "create_task", "update_event"]


@pytest.mark.parametrize("kind", ["error", "timeout"])
async def test_outlook_unreadable_pushes_untagged_tasks_and_imports_nothing_R17b(
    world: Stack, kind: str
) -> None:
    await pushed_and_imported(world)
    world.control(
        "POST",
        "/faults",
        {
            "method": "GET",
            "path": "/me/calendarView/delta*",
            "kind": kind,
            "status": 500,
            "count": 2,
            "timeout_seconds": 0.05,
        },
    )
    blind = await cycle(world, NOW + LATER)
    assert blind.outcome == "partial"
    assert blind.error is not None
    assert "Outlook could not be read" in blind.error
    assert sorted(e.action for e in blind.entries) == ["create_event", "partial", "update_event"]
    assert [t.title for t in all_tasks(world)] == ["Visit, moved", "New delivery"]  # no import
    subjects = sorted(e["subject"] for e in world.events(ALICE))
    assert subjects == ["Measure [sync]", "New delivery", "Visit, moved"]
    back = await cycle(world, NOW + 2 * LATER)
    assert back.outcome == "ok", back.error
    assert [e.action for e in back.entries] == ["create_task"]
    assert sorted(t.title for t in all_tasks(world)) == ["Measure", "New delivery", "Visit, moved"]
    assert len(world.events(ALICE)) == 3


async def test_a_long_throttle_ends_the_cycle_with_the_retry_time_as_next_run_R23b(
    world: Stack,
) -> None:
    await pushed_and_imported(world)
    world.control(
        "POST",
        "/faults",
        {
            "method": "GET",
            "path": "/me/calendarView/delta*",
            "kind": "throttle",
            "retry_after": 120,
        },
    )
    now = datetime.now(UTC).replace(microsecond=0)
    throttled = await cycle(world, now)
    assert throttled.outcome == "throttled"
    assert throttled.next_run_at is not None
    # Graph's two minutes, not the ten-minute interval.
    assert timedelta(seconds=100) < throttled.next_run_at - now < timedelta(seconds=140)
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        user = await unit.users.get(world.users[ALICE].id)
    assert user.next_run_at == throttled.next_run_at
    assert user.last_outcome == "throttled"
    assert [t.title for t in all_tasks(world)] == ["Visit, moved", "New delivery"]  # no import


async def test_a_revoked_user_stops_alone_and_must_sign_in_again_R19b(world: Stack) -> None:
    await world.sign_in(BOB, "Bob Nguyen")
    world.add_task(ALICE, "customer", "Alice visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    world.add_task(BOB, "customer", "Bob visit", "2026-11-27T12:00:00", "2026-11-27T13:00:00")
    revoke(world, ALICE)
    alice = await world.cycle(ALICE, NOW)
    assert alice.outcome == "needs_sign_in"
    assert [e.action for e in alice.entries] == ["stopped"]
    assert world.events(ALICE) == []
    bob = await world.cycle(BOB, NOW)
    assert bob.outcome == "ok", bob.error
    assert [e["subject"] for e in world.events(BOB)] == ["Bob visit"]
    [status] = [u.status for u in await world.services.directory.users() if u.email == ALICE]
    assert status == "needs_sign_in"
    due = await world.services.directory.due_users(NOW + timedelta(hours=1))
    assert ALICE not in {u.email for u in due}


async def test_writes_throttled_long_end_the_cycle_with_the_retry_time_R23b(
    world: Stack,
) -> None:
    # Graph's Retry-After runs on the real clock: so do this story's cycles and dates.
    now = datetime.now(UTC).replace(microsecond=0)
    await pushed_and_imported(world, now - LATER)
    world.control(
        "POST",
        "/faults",
        {"method": "POST", "path": "/$batch", "kind": "throttle", "retry_after": 300},
    )
    throttled = await cycle(world, now)
    assert throttled.outcome == "throttled"
    assert throttled.next_run_at is not None
    assert timedelta(seconds=280) < throttled.next_run_at - now < timedelta(seconds=320)
    # The import (System Five only) went on; the pushes wait, their pending rows kept.
    assert sorted(t.title for t in all_tasks(world)) == ["Measure", "New delivery", "Visit, moved"]
    retried = await cycle(world, throttled.next_run_at)
    assert retried.outcome == "ok", retried.error
    assert sorted(e["subject"] for e in world.events(ALICE)) == [
        "Measure [sync]",
        "New delivery",
        "Visit, moved",
    ]
