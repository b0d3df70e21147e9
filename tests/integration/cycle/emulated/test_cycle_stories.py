"""Cycles through the real connectors and both emulators (issue 9, "Must show"): push,
update, untick and delete on each side, tag a pushed event, import, re-import after an
edit, an event entering the window as the clock moves, an imported task turned into a
synced delivery, both sides changed — each followed by an idle cycle that writes nothing
on either side and costs exactly one Graph request (R17)."""

from __future__ import annotations

from datetime import datetime, timedelta

from s5emu.desk import AddressForm
from s5sync.core.snapshots import LinkState
from s5sync.sync.engine import CycleResult
from support.cycle_stack import Stack
from support.emulated_world import (
    ALICE,
    LATER,
    NOW,
    Ticker,
    all_tasks,
    assert_one_to_one,
    create_event,
    delete_event,
    edit_event,
    event,
    links,
    save_task,
    task,
    utc,
)


async def ok(world: Stack, now: datetime) -> CycleResult:
    result = await world.cycle(ALICE, now)
    assert result.outcome == "ok", result.error
    return result


async def assert_idle(world: Stack, now: datetime) -> None:
    """R17: nothing written on either side, one Graph request (the delta read)."""
    before = [(t.id, t.updated_at) for t in all_tasks(world)]
    events_before = {e["id"]: e["changeKey"] for e in world.events(ALICE)}
    result = await ok(world, now)
    assert result.wrote == 0, result.entries
    assert [e.action for e in result.entries] == [], result.entries
    assert result.phases == {"delta": 1}, result.requests
    assert sum(result.requests.values()) == 1, result.requests
    assert [(t.id, t.updated_at) for t in all_tasks(world)] == before
    assert {e["id"]: e["changeKey"] for e in world.events(ALICE)} == events_before
    assert_one_to_one(world, ALICE)


def actions(result: CycleResult) -> list[str]:
    return [e.action for e in result.entries]


async def test_push_update_untick_and_delete_in_system_five_keep_the_event_R1_R5_R6(
    world: Stack,
) -> None:
    customer = world.desk.add_customer(
        "Zoë Brontë", [AddressForm("ship_to", "12 Rue Ærø", city="Montréal")]
    )
    task_id = world.add_task(
        ALICE,
        "delivery",
        "Deliver sofa",
        "2026-11-26T10:00:00",
        "2026-11-26T11:00:00",
        customer_id=customer,
        alarm_minutes=30,
    )
    clock = Ticker()
    assert actions(await ok(world, clock.now)) == ["create_event"]
    [pushed] = world.events(ALICE)
    assert "google.com/maps/search/?api=1" in pushed["body"]["content"]
    assert pushed["reminderMinutesBeforeStart"] == 30
    await assert_idle(world, clock.next())

    save_task(
        world,
        task_id,
        title="Deliver sofa and chairs",
        starts_at="2026-11-26T12:00:00",
        ends_at="2026-11-26T13:00:00",
    )
    assert actions(await ok(world, clock.next())) == ["update_event"]
    updated = event(world, ALICE, pushed["id"])
    assert updated["subject"] == "Deliver sofa and chairs"
    assert updated["start"]["dateTime"].startswith("2026-11-26T17:00:00")  # 12:00 in New York
    await assert_idle(world, clock.next())

    # R6: unticking keeps the event and stops updates; said once.
    save_task(world, task_id, sync=False)
    assert actions(await ok(world, clock.next())) == ["skip"]
    save_task(world, task_id, title="Changed after untick")
    await ok(world, clock.next())
    assert event(world, ALICE, pushed["id"])["subject"] == "Deliver sofa and chairs"
    await assert_idle(world, clock.next())

    # R6: deleting the task keeps the event.
    world.desk.delete_task(task_id)
    deleted = await ok(world, clock.next())
    assert actions(deleted) == ["mark_task_deleted"]
    assert [e["id"] for e in world.events(ALICE)] == [pushed["id"]]
    assert [link.state for link in await links(world, ALICE)] == [LinkState.TASK_DELETED]
    await assert_idle(world, clock.next())


async def test_event_deleted_in_outlook_is_not_recreated_by_task_changes_R7b(
    world: Stack,
) -> None:
    task_id = world.add_task(
        ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00"
    )
    clock = Ticker()
    await ok(world, clock.now)
    [pushed] = world.events(ALICE)
    delete_event(world, ALICE, pushed["id"])
    gone = await ok(world, clock.next())
    assert actions(gone) == ["mark_deleted_in_outlook"]
    await assert_idle(world, clock.next())
    save_task(world, task_id, title="Visit, rescheduled")
    later = await ok(world, clock.next())
    assert actions(later) == ["skip"]
    assert later.entries[0].reason == "deleted_in_outlook"
    assert world.events(ALICE) == []
    await assert_idle(world, clock.next())


async def test_outlook_edit_of_a_pushed_event_is_not_sent_back_without_the_tag_R7(
    world: Stack,
) -> None:
    task_id = world.add_task(
        ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00"
    )
    clock = Ticker()
    await ok(world, clock.now)
    [pushed] = world.events(ALICE)
    edit_event(world, ALICE, pushed["id"], subject="Visit (moved by Alice)")
    result = await ok(world, clock.next())
    assert result.wrote == 0
    assert task(world, task_id).title == "Visit"
    await assert_idle(world, clock.next())


async def test_tagging_a_pushed_event_updates_its_own_task_without_the_maps_block_R12(
    world: Stack,
) -> None:
    customer = world.desk.add_customer("Ann", [AddressForm("bill_to", "1 Main St", city="Albany")])
    task_id = world.add_task(
        ALICE,
        "customer",
        "Visit Ann",
        "2026-11-27T10:00:00",
        "2026-11-27T11:00:00",
        customer_id=customer,
        notes="Bring samples",
    )
    clock = Ticker()
    await ok(world, clock.now)
    [pushed] = world.events(ALICE)
    edit_event(world, ALICE, pushed["id"], subject="Visit Ann [sync]")
    result = await ok(world, clock.next())
    assert actions(result) == ["update_task"]
    assert result.entries[0].reason == "tag_added_to_pushed_event"
    row = task(world, task_id)
    assert row.title == "Visit Ann"
    assert row.notes.strip() == "Bring samples"
    assert "google.com/maps" not in row.notes
    assert row.needs_review
    assert len(all_tasks(world)) == 1
    await assert_idle(world, clock.next())


async def test_import_then_reimport_after_an_edit_and_delete_in_outlook_keeps_task_R8_R10_R11(
    world: Stack,
) -> None:
    event_id = create_event(world, ALICE, "Measure kitchen [sync]", NOW + timedelta(days=3))
    clock = Ticker()
    assert actions(await ok(world, clock.now)) == ["create_task"]
    [row] = all_tasks(world)
    assert (row.kind, row.sync, row.needs_review, row.external_ref) == (
        "outlook",
        False,
        True,
        event_id,
    )
    await assert_idle(world, clock.next())

    save_task(world, row.id)  # staff open and save it: the flag clears (R13)
    assert not task(world, row.id).needs_review
    await assert_idle(world, clock.next())
    edit_event(
        world,
        ALICE,
        event_id,
        subject="Measure kitchen again [sync]",
        start=utc(NOW + timedelta(days=4)),
        end=utc(NOW + timedelta(days=4, hours=2)),
    )
    result = await ok(world, clock.next())
    assert actions(result) == ["update_task"]
    again = task(world, row.id)
    assert again.title == "Measure kitchen again"
    assert again.needs_review
    assert again.starts_at == "2026-11-29T10:00:00"
    await assert_idle(world, clock.next())

    delete_event(world, ALICE, event_id)
    await ok(world, clock.next())
    assert task(world, row.id).title == "Measure kitchen again"  # R11
    await assert_idle(world, clock.next())


async def test_imported_task_deleted_in_system_five_is_not_recreated_R11b(world: Stack) -> None:
    event_id = create_event(world, ALICE, "Measure [sync]", NOW + timedelta(days=3))
    clock = Ticker()
    await ok(world, clock.now)
    [row] = all_tasks(world)
    world.desk.delete_task(row.id)
    assert actions(await ok(world, clock.next())) == ["mark_task_deleted"]
    await assert_idle(world, clock.next())
    edit_event(world, ALICE, event_id, subject="Measure twice [sync]")
    later = await ok(world, clock.next())
    assert [(e.action, e.reason) for e in later.entries] == [("skip", "deleted_in_system_five")]
    assert all_tasks(world) == []
    await assert_idle(world, clock.next())


async def test_event_entering_the_window_as_time_passes_is_imported_then_R8(
    world: Stack,
) -> None:
    create_event(world, ALICE, "Stocktake [sync]", NOW + timedelta(days=16))
    first = await ok(world, NOW)
    assert [(e.action, e.reason) for e in first.entries] == [("skip", "outside_window")]
    await assert_idle(world, NOW + LATER)  # a standing skip is said once
    three_days = NOW + timedelta(days=3)
    entered = await ok(world, three_days)
    assert actions(entered) == ["create_task"]
    # Nothing changed in Outlook: the window cache saw it, for the one delta request.
    assert entered.phases == {"delta": 1}
    [row] = all_tasks(world)
    assert row.title == "Stocktake"
    await assert_idle(world, three_days + LATER)


async def test_imported_task_turned_into_a_synced_delivery_updates_its_own_event_R12d(
    world: Stack,
) -> None:
    event_id = create_event(world, ALICE, "Deliver table [sync]", NOW + timedelta(days=2))
    clock = Ticker()
    await ok(world, clock.now)
    [row] = all_tasks(world)
    save_task(world, row.id, kind="delivery", sync=True, title="Deliver oak table")
    result = await ok(world, clock.next())
    assert actions(result) == ["update_event"]
    assert result.entries[0].reason == "imported_task_now_synced"
    [only] = world.events(ALICE)
    assert only["id"] == event_id
    assert only["subject"] == "Deliver oak table [sync]"
    assert "Received From System5" in only["categories"]
    await assert_idle(world, clock.next())


async def test_both_sides_changed_outlook_wins_and_the_log_keeps_system_five_values_R12b(
    world: Stack,
) -> None:
    event_id = create_event(world, ALICE, "Fit kitchen [sync]", NOW + timedelta(days=2))
    clock = Ticker()
    await ok(world, clock.now)
    [row] = all_tasks(world)
    save_task(world, row.id, title="Fit kitchen (S5 edit)", alarm_minutes=15)
    edit_event(world, ALICE, event_id, subject="Fit kitchen (Outlook edit) [sync]")
    result = await ok(world, clock.next())
    assert [(e.action, e.reason) for e in result.entries] == [
        ("update_task", "conflict_outlook_wins")
    ]
    assert "title 'Fit kitchen (S5 edit)'" in result.entries[0].message
    assert "alarm 15 min" in result.entries[0].message
    after = task(world, row.id)
    assert after.title == "Fit kitchen (Outlook edit)"
    assert after.needs_review
    assert event(world, ALICE, event_id)["subject"] == "Fit kitchen (Outlook edit) [sync]"
    await assert_idle(world, clock.next())


async def test_a_past_synced_task_costs_nothing_on_idle_cycles_R2_R17(world: Stack) -> None:
    world.add_task(ALICE, "customer", "Earlier visit", "2026-11-24T10:00:00", "2026-11-24T11:00:00")
    first = await ok(world, NOW)
    assert [(e.action, e.reason) for e in first.entries] == [("skip", "start_passed")]
    await assert_idle(world, NOW + LATER)
    await assert_idle(world, NOW + 2 * LATER)


async def test_event_beyond_the_window_deleted_in_outlook_is_not_recreated_R7b(
    world: Stack,
) -> None:
    task_id = world.add_task(
        ALICE, "delivery", "Far delivery", "2026-12-25T10:00:00", "2026-12-25T11:00:00"
    )
    clock = Ticker()
    await ok(world, clock.now)
    [pushed] = world.events(ALICE)
    delete_event(world, ALICE, pushed["id"])
    await ok(world, clock.next())
    save_task(world, task_id, title="Far delivery, two men")
    changed = await ok(world, clock.next())
    assert [(e.action, e.reason) for e in changed.entries] == [
        ("mark_deleted_in_outlook", "deleted_in_outlook")
    ]
    assert world.events(ALICE) == []
    await assert_idle(world, clock.next())
    save_task(world, task_id, title="Far delivery, three men")
    later = await ok(world, clock.next())
    assert [(e.action, e.reason) for e in later.entries] == [("skip", "deleted_in_outlook")]
    assert world.events(ALICE) == []
