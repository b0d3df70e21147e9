"""Busy cycles shared by the crash-safety, one-at-a-time and PostgreSQL tests (R16):
the worlds they start from and the end states they must reach."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from s5sync.core.snapshots import LinkState
from support.cycle_stack import Stack
from support.emulated_world import (
    ALICE,
    LATER,
    NOW,
    all_tasks,
    create_event,
    edit_event,
    links,
    save_task,
)

SCRIPT = (
    Path(__file__).resolve().parents[1] / "integration" / "cycle" / "emulated" / "crash_cycle.py"
)


async def prepare_busy_cycle(world: Stack) -> dict[str, object]:
    """A first cycle links A (pushed) and E1 (imported); then both sides change so that
    the next cycle makes five writes. Returns the ids the checks need."""
    a = world.add_task(ALICE, "customer", "Task A", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    e1 = create_event(world, ALICE, "Event one [sync]", NOW + timedelta(days=2))
    first = await world.cycle(ALICE, NOW)
    assert first.outcome == "ok", first.error
    b = world.add_task(ALICE, "delivery", "Task B", "2026-11-28T10:00:00", "2026-11-28T11:00:00")
    c = world.add_task(ALICE, "customer", "Task C", "2026-11-29T10:00:00", "2026-11-29T11:00:00")
    save_task(world, a, title="Task A v2")
    e2 = create_event(world, ALICE, "Event two [sync]", NOW + timedelta(days=3))
    edit_event(world, ALICE, e1, subject="Event one v2 [sync]")
    return {"a": a, "b": b, "c": c, "e1": e1, "e2": e2}


async def assert_settled(world: Stack, ids: dict[str, object], now: datetime) -> None:
    """R16: one event per task, one task per event, nothing lost; then R17: idle."""
    events = world.events(ALICE)
    assert sorted(e["subject"] for e in events) == [
        "Event one v2 [sync]",
        "Event two [sync]",
        "Task A v2",
        "Task B",
        "Task C",
    ]
    by_subject = {e["subject"]: e["id"] for e in events}
    tasks = {t.title: t for t in all_tasks(world)}
    assert sorted(tasks) == ["Event one v2", "Event two", "Task A v2", "Task B", "Task C"]
    assert tasks["Event one v2"].external_ref == ids["e1"]
    assert tasks["Event two"].external_ref == ids["e2"]
    pairs = {
        (link.task_id, link.event_id)
        for link in await links(world, ALICE)
        if link.state is LinkState.ACTIVE
    }
    assert pairs == {
        (ids["a"], by_subject["Task A v2"]),
        (ids["b"], by_subject["Task B"]),
        (ids["c"], by_subject["Task C"]),
        (tasks["Event one v2"].id, ids["e1"]),
        (tasks["Event two"].id, ids["e2"]),
    }
    assert len(await links(world, ALICE)) == 5
    idle = await world.cycle(ALICE, now + LATER)
    assert idle.outcome == "ok", idle.error
    assert idle.wrote == 0, idle.entries
    assert sum(idle.requests.values()) == 1, idle.requests


def busy_world(world: Stack) -> None:
    for day in (26, 27, 28):
        world.add_task(
            ALICE, "customer", f"Visit {day}", f"2026-11-{day}T10:00:00", f"2026-11-{day}T11:00:00"
        )
    create_event(world, ALICE, "Measure [sync]", NOW + timedelta(days=2))


def assert_no_duplicates(world: Stack) -> None:
    assert sorted(e["subject"] for e in world.events(ALICE)) == [
        "Measure [sync]",
        "Visit 26",
        "Visit 27",
        "Visit 28",
    ]
    assert sorted(t.title for t in all_tasks(world)) == [
        "Measure",
        "Visit 26",
        "Visit 27",
        "Visit 28",
    ]
