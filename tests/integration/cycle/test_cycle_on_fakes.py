"""The cycle end to end over the in-memory fakes: push, update, untick, delete, import,
idle cycles (R1–R18). The same stories run through the real connectors and both
emulators in test_cycle_on_emulators.py."""

from __future__ import annotations

from datetime import timedelta

from s5sync.core.snapshots import LinkState
from support.fake_world import World
from support.store_damage import forget_links, forget_window


async def test_synced_delivery_is_pushed_with_category_and_maps_link_R1_R3_R4(
    world: World,
) -> None:
    desk = world.tasks.desk
    customer = desk.add_customer("Zoë Brontë", [("ship_to", "12 Rue Ærø", "Montréal")])
    task = desk.add_task(
        world.employee_id,
        "delivery",
        "Deliver sofa",
        "2026-11-26T10:00:00",
        "2026-11-26T11:00:00",
        customer_id=customer,
        sync=True,
        alarm_minutes=30,
    )
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    [event] = world.calendar.events()
    assert event.subject == "Deliver sofa"
    assert "Received From System5" in event.categories
    assert "google.com/maps/search/?api=1" in event.body
    assert "query=12+Rue+%C3%86r%C3%B8" in event.body
    assert event.reminder_minutes == 30
    assert world.calendar.categories == {"Received From System5": "preset4"}
    assert [e.action for e in result.entries] == ["create_event"]
    links = await world.links()
    assert [(link.task_id, link.state) for link in links] == [(task, LinkState.ACTIVE)]


async def test_next_idle_cycle_writes_nothing_and_costs_one_request_R17(world: World) -> None:
    world.tasks.desk.add_task(
        world.employee_id,
        "customer",
        "Visit",
        "2026-11-27T10:00:00",
        "2026-11-27T11:00:00",
        sync=True,
    )
    first = await world.cycle()
    assert first.wrote == 1
    world.now += timedelta(minutes=10)
    before = world.requests()
    second = await world.cycle()
    assert second.outcome == "ok"
    assert second.wrote == 0
    assert world.requests() - before == 1
    assert second.entries == ()


async def test_task_change_updates_event_and_untick_stops_updates_R5_R6(world: World) -> None:
    desk = world.tasks.desk
    task = desk.add_task(
        world.employee_id,
        "customer",
        "Visit",
        "2026-11-27T10:00:00",
        "2026-11-27T11:00:00",
        sync=True,
    )
    await world.cycle()
    desk.save_task(task, title="Visit, bring samples")
    world.now += timedelta(minutes=10)
    result = await world.cycle()
    assert [e.action for e in result.entries] == ["update_event"]
    assert world.calendar.events()[0].subject == "Visit, bring samples"
    desk.save_task(task, sync=False)
    world.now += timedelta(minutes=10)
    result = await world.cycle()
    assert result.wrote == 0
    assert len(world.calendar.events()) == 1  # R6: the event stays


async def test_tagged_event_becomes_a_task_flagged_for_review_R8_R9(world: World) -> None:
    event_id = world.calendar.user_creates(
        "Measure kitchen [sync]",
        world.now + timedelta(days=3),
        world.now + timedelta(days=3, hours=1),
    )
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    task = await world.tasks.task_by_external_ref(event_id)
    assert task is not None
    assert task.title == "Measure kitchen"
    assert task.needs_review
    assert not task.sync
    world.now += timedelta(minutes=10)
    again = await world.cycle()
    assert again.wrote == 0


async def test_mapping_lost_between_cycles_is_rebuilt_without_duplicates_R16b(
    world: World,
) -> None:
    desk = world.tasks.desk
    desk.add_task(
        world.employee_id,
        "customer",
        "Visit",
        "2026-11-27T10:00:00",
        "2026-11-27T11:00:00",
        sync=True,
    )
    world.calendar.user_creates(
        "Measure [sync]", world.now + timedelta(days=2), world.now + timedelta(days=2, hours=1)
    )
    await world.cycle()
    await forget_links(world.services, world.user.tenant_id, world.user.id)
    await forget_window(world.services, world.user.tenant_id, world.user.id)
    world.now += timedelta(minutes=10)
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    assert len(world.calendar.events()) == 2
    assert len(world.tasks.desk.tasks) == 2
    assert {e.action for e in result.entries} <= {
        "adopt_event",
        "adopt_task",
        "update_event",
        "update_task",
    }
