"""The pure simulator applies decisions as the shell does (what R16/R17 properties rely on)."""

from __future__ import annotations

from dataclasses import replace

from s5sync.core.decisions import Recorded, Skip, UpdateEvent, UpdateTask
from s5sync.core.hashing import event_hash
from s5sync.core.payloads import task_ref
from s5sync.core.reasons import Direction, Reason
from s5sync.core.simulator import World, apply_decision, apply_decisions
from s5sync.core.snapshots import Link, LinkState, Origin, TaskDraft, TaskKind
from support.core_builders import EMPLOYEE, decide, event, link, task


def test_update_of_a_vanished_event_marks_the_link_deleted_in_outlook_R7b() -> None:
    t = task()
    e = event("ev-p", subject="Visit Smith", task_ref=task_ref(1))
    (update,) = decide([replace(t, notes="new")], [e], [link(t, e)])
    assert isinstance(update, UpdateEvent)
    world = World(tasks={1: t}, events={}, links=(link(t, e),))
    after = apply_decision(world, update)
    assert after.links[0].state is LinkState.OUTLOOK_DELETED


def test_update_beyond_the_cache_adds_the_category_to_the_users_own_R3_R5() -> None:
    t = task()
    e = event("ev-p", subject="Visit Smith", task_ref=task_ref(1), categories=("Mine",))
    (update,) = decide([replace(t, notes="new")], [], [link(t, e)])
    assert isinstance(update, UpdateEvent)
    world = World(tasks={1: t}, events={"ev-p": e}, links=(link(t, e),))
    after = apply_decision(world, update)
    assert after.events["ev-p"].categories == ("Mine", "Received From System5")
    again = apply_decision(after, update)
    assert again.events["ev-p"].categories == ("Mine", "Received From System5")


def test_task_saved_meanwhile_is_a_write_conflict_left_for_the_next_cycle_R12b() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    draft = TaskDraft("New", "", e.start, e.end, None)  # type: ignore[arg-type]
    stale = UpdateTask(t.id, e.id, "an older save", "T", draft, "h", "ck-2", "p")
    world = World(tasks={t.id: t}, events={e.id: e}, links=(link(t, e, origin=Origin.OUTLOOK),))
    assert apply_decision(world, stale) == world


def test_crash_in_a_write_that_is_not_a_create_leaves_everything_as_it_was_R16() -> None:
    t = task()
    e = event("ev-p", subject="Visit Smith", task_ref=task_ref(1))
    decisions = decide([replace(t, notes="new")], [e], [link(t, e)])
    world = World(tasks={1: t}, events={"ev-p": e}, links=(link(t, e),))
    assert apply_decisions(world, decisions, crash_at=0) == world


def test_skip_with_no_link_to_record_on_changes_nothing_R18() -> None:
    skip = Skip(Reason.NO_TAG, Direction.IMPORT, "x", 9, "ev-9", record=Recorded(event_hash="h"))
    assert apply_decision(World(), skip) == World()


def test_created_task_belongs_to_the_employee_and_carries_its_event_R9_R16b() -> None:
    e = event()
    world = apply_decisions(World(events={e.id: e}), decide([], [e]))
    (new,) = world.tasks.values()
    assert new.employee_id == EMPLOYEE
    assert new.external_ref == "ev-1"
    assert world.links[0].event_hash == event_hash(e)


def test_skip_record_found_by_its_event_alone_R18() -> None:
    e = event()
    row = Link(None, "ev-1", Origin.OUTLOOK, LinkState.PENDING)
    skip = Skip(Reason.NO_TAG, Direction.IMPORT, "x", None, "ev-1", record=Recorded(task_hash="t"))
    after = apply_decision(World(events={e.id: e}, links=(row,)), skip)
    assert after.links == (replace(row, task_hash="t"),)


def test_crash_after_creating_the_event_is_recovered_by_adoption_R16() -> None:
    t = task()
    world = World(tasks={1: t})
    crashed = apply_decisions(world, decide([t]), crash_at=0)
    assert crashed.links[0].state is LinkState.PENDING
    recovery = decide(crashed.tasks.values(), crashed.events.values(), crashed.links)
    assert [type(d).__name__ for d in recovery] == ["AdoptEvent", "UpdateEvent"]
    after = apply_decisions(crashed, recovery)
    assert len(after.events) == 1
    assert decide(after.tasks.values(), after.events.values(), after.links) == []


def test_crash_after_creating_the_task_is_recovered_by_adoption_R16() -> None:
    e = event()
    world = World(events={e.id: e})
    crashed = apply_decisions(world, decide([], [e]), crash_at=0)
    assert crashed.links[0].state is LinkState.PENDING
    recovery = decide(crashed.tasks.values(), crashed.events.values(), crashed.links)
    assert [type(d).__name__ for d in recovery] == ["AdoptTask", "UpdateTask"]
    after = apply_decisions(crashed, recovery)
    assert len(after.tasks) == 1
    assert decide(after.tasks.values(), after.events.values(), after.links) == []
