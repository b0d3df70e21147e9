"""The CALENDAREVENT mapping emptied between cycles (and the window cache dropped): the
next cycle rebuilds every link from the identities both sides carry and creates nothing
new — inside the window from the cache, beyond it (a task 30 days ahead) by a batched
lookup reported as recovery (R16, R16b)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from s5sync.core.snapshots import LinkState
from support.cycle_stack import Stack
from support.emulated_world import ALICE, LATER, NOW, all_tasks, create_event, links
from support.store_damage import forget_links, forget_window


async def test_emptied_mapping_is_rebuilt_without_creating_anything_R16b(
    world: Stack,
) -> None:
    world.add_task(ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    world.add_task(ALICE, "delivery", "Far delivery", "2026-12-25T10:00:00", "2026-12-25T11:00:00")
    create_event(world, ALICE, "Measure [sync]", NOW + timedelta(days=2))
    first = await world.cycle(ALICE, NOW)
    assert first.outcome == "ok", first.error
    before = {(link.task_id, link.event_id) for link in await links(world, ALICE)}
    assert len(before) == 3
    events = sorted(e["id"] for e in world.events(ALICE))
    tasks = sorted(t.id for t in all_tasks(world))
    for drop_cache in (False, True):
        await forget_links(world.services, world.tenant.id, world.users[ALICE].id)
        if drop_cache:
            await forget_window(world.services, world.tenant.id, world.users[ALICE].id)
        rebuilt = await world.cycle(ALICE, NOW + LATER)
        assert rebuilt.outcome == "ok", rebuilt.error
        assert {e.action for e in rebuilt.entries} <= {
            "adopt_event",
            "adopt_task",
            "update_event",
            "update_task",
        }
        assert sorted(e["id"] for e in world.events(ALICE)) == events
        assert sorted(t.id for t in all_tasks(world)) == tasks
        after = await links(world, ALICE)
        assert {(link.task_id, link.event_id) for link in after} == before
        assert {link.state for link in after} == {LinkState.ACTIVE}
        # The far task's event lies beyond the window: found by one batched lookup.
        assert rebuilt.phases.get("recovery") == 1, rebuilt.phases
        if drop_cache:
            assert rebuilt.phases.get("first_read") == 1
        idle = await world.cycle(ALICE, NOW + 2 * LATER)
        assert idle.wrote == 0, idle.entries
        assert idle.phases == {"delta": 1}


@pytest.mark.parametrize("days", [3, 30])
async def test_a_lost_link_of_a_task_is_found_wherever_its_event_lies_R16b(
    world: Stack, days: int
) -> None:
    start = NOW + timedelta(days=days)
    day = start.date().isoformat()
    task_id = world.add_task(ALICE, "customer", "Visit", f"{day}T10:00:00", f"{day}T11:00:00")
    await world.cycle(ALICE, NOW)
    [pushed] = world.events(ALICE)
    await forget_links(world.services, world.tenant.id, world.users[ALICE].id)
    await forget_window(world.services, world.tenant.id, world.users[ALICE].id)
    rebuilt = await world.cycle(ALICE, NOW + LATER)
    assert rebuilt.outcome == "ok", rebuilt.error
    assert [e.action for e in rebuilt.entries][:1] == ["adopt_event"]
    assert [e["id"] for e in world.events(ALICE)] == [pushed["id"]]
    assert [(link.task_id, link.event_id) for link in await links(world, ALICE)] == [
        (task_id, pushed["id"])
    ]


async def test_a_pushed_task_beyond_the_window_costs_one_request_per_idle_cycle_R17(
    world: Stack,
) -> None:
    world.add_task(ALICE, "delivery", "Far delivery", "2026-12-25T10:00:00", "2026-12-25T11:00:00")
    first = await world.cycle(ALICE, NOW)
    assert first.wrote == 1
    for n in (1, 2):
        idle = await world.cycle(ALICE, NOW + n * LATER)
        assert idle.wrote == 0, idle.entries
        assert idle.phases == {"delta": 1}


async def test_a_user_whose_records_were_lost_and_who_signs_in_again_gets_no_duplicate_R16b(
    world: Stack,
) -> None:
    """The user's rows are gone (a lost or restored database: they come back with a new
    id); their events still name their tasks, so nothing is created twice."""
    from support.emulated_world import BOB

    await world.sign_in(BOB, "Bob Nguyen")  # so Alice's new row gets another id
    world.add_task(ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    world.add_task(ALICE, "delivery", "Far delivery", "2026-12-25T10:00:00", "2026-12-25T11:00:00")
    await world.cycle(ALICE, NOW)
    events = sorted(e["id"] for e in world.events(ALICE))
    old = world.users[ALICE]
    async with world.services.scope(world.tenant.id).begin() as unit:
        await unit.users.remove(old.id)
    employee = world.employees[ALICE]
    await world.sign_in(ALICE, "Alice Martin", employee_id=employee)
    assert world.users[ALICE].id != old.id
    again = await world.cycle(ALICE, NOW + LATER)
    assert again.outcome == "ok", again.error
    assert "create_event" not in {e.action for e in again.entries}
    assert sorted(e["id"] for e in world.events(ALICE)) == events
    assert len(await links(world, ALICE)) == 2
