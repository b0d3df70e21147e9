"""Whole histories of edits, cycles and crashes on both sides (R16, R16b, R17).

A history starts from random tasks and events, then alternates an edit (on either side,
a clock step, a lost mapping database) with a cycle: decide, apply through the pure
simulator (maybe crashing half-way through one decision), decide again. Checked:
- R17: after an applied cycle, deciding again on the state it produced writes nothing;
- R16: no decision list holds two creates (or two writes) for one task or one event,
  and no history ever leaves two live events for one task or two live tasks for one
  event — not after a crash, not after losing every link row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from s5sync.core.decisions import (
    WRITES,
    CreateEvent,
    CreateTask,
    Decision,
    Skip,
    UpdateEvent,
    UpdateTask,
    writes,
)
from s5sync.core.payloads import parse_task_ref
from s5sync.core.rules import decide_cycle
from s5sync.core.simulator import World, apply_decisions
from s5sync.core.snapshots import (
    Address,
    EventSnapshot,
    EventType,
    StoreOptions,
    TaskKind,
    TaskSnapshot,
)

NOW = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)  # DST ends in New York on Nov 1
EMPLOYEE = 7
OPTIONS = StoreOptions()
ADDRESS = Address(1, "bill_to", "1 Main St", "", "Springfield", "IL", "62701", "US")

SUBJECTS = ["Lunch [sync]", "Lunch", "[SYNC] Fit", "[sync]", "Visit", None, "y" * 120 + "[Sync]"]
BODIES = [
    ("", False),
    ("Agenda", False),
    ("<p>Agenda</p><p>Two&nbsp;items</p>", True),
    ("<div>broken <b>html", True),
    ("z" * 4100, False),
]
TITLES = ["Visit Smith", "Deliver sofa", "", "x" * 100]


@st.composite
def tasks(draw: st.DrawFn, task_id: int) -> TaskSnapshot:
    start = NOW + timedelta(hours=draw(st.integers(-30, 24 * 20)))
    return TaskSnapshot(
        id=task_id,
        employee_id=draw(st.sampled_from([EMPLOYEE, EMPLOYEE, EMPLOYEE, 8])),
        kind=draw(st.sampled_from(list(TaskKind))),
        title=draw(st.sampled_from(TITLES)),
        notes=draw(st.sampled_from(["", "Bring samples", "a\n\nb"])),
        start=start,
        end=start + timedelta(hours=draw(st.integers(-1, 30))),
        alarm_minutes=draw(st.sampled_from([None, 15])),
        sync=draw(st.booleans()),
        needs_review=False,
        external_ref=None,
        updated_at="v0",
        bill_to=draw(st.sampled_from([None, ADDRESS])),
    )


@st.composite
def events(draw: st.DrawFn, event_id: str) -> EventSnapshot:
    all_day = draw(st.booleans())
    if all_day:
        day = NOW.replace(hour=0) + timedelta(days=draw(st.integers(-1, 20)))
        start: datetime | None = day
        end: datetime | None = day + timedelta(days=draw(st.integers(1, 3)))
    else:
        start = NOW + timedelta(minutes=draw(st.integers(-60 * 30, 60 * 24 * 20)))
        end = start + timedelta(minutes=draw(st.integers(-30, 60 * 30)))
    if draw(st.integers(0, 9)) == 0:
        start = None
    body, is_html = draw(st.sampled_from(BODIES))
    return EventSnapshot(
        id=event_id,
        subject=draw(st.sampled_from(SUBJECTS)),
        body=body,
        body_is_html=is_html,
        start=start,
        end=end,
        is_all_day=all_day,
        reminder_minutes=draw(st.sampled_from([None, 10])),
        type=draw(st.sampled_from([EventType.SINGLE_INSTANCE] * 4 + list(EventType))),
        is_cancelled=draw(st.integers(0, 9)) == 0,
        change_key="ck-0",
    )


@dataclass(frozen=True)
class Edit:
    """One thing that happens between cycles."""

    kind: str
    target: int
    value: int


EDITS = st.builds(
    Edit,
    st.sampled_from(
        [
            "task_title",
            "task_time",
            "task_sync",
            "task_kind",
            "task_delete",
            "event_subject",
            "event_tag",
            "event_tag",
            "event_time",
            "event_body",
            "event_delete",
            "both_sides",
            "both_sides",
            "clock",
            "lose_links",
            "nothing",
        ]
    ),
    st.integers(0, 7),
    st.integers(-3, 40),
)


@dataclass
class History:
    world: World
    now: datetime
    gone: set[str]


def edit_world(history: History, edit: Edit) -> None:
    world = history.world
    task_ids = sorted(world.tasks)
    event_ids = sorted(world.events)
    counter = world.counter + 1
    if edit.kind.startswith("task_") and task_ids:
        t = world.tasks[task_ids[edit.target % len(task_ids)]]
        stamp = f"s5-{counter}"
        if edit.kind == "task_delete":
            tasks_left = {k: v for k, v in world.tasks.items() if k != t.id}
            history.world = replace(world, tasks=tasks_left, counter=counter)
            return
        if edit.kind == "task_title":
            t = replace(t, title=f"{t.title} {edit.value}"[-90:])
        elif edit.kind == "task_time":
            shift = timedelta(hours=edit.value)
            t = replace(t, start=t.start + shift, end=t.end + shift)
        elif edit.kind == "task_sync":
            t = replace(t, sync=not t.sync)
        else:
            t = replace(t, kind=list(TaskKind)[edit.value % len(TaskKind)])
        t = replace(t, updated_at=stamp)
        history.world = replace(world, tasks={**world.tasks, t.id: t}, counter=counter)
    elif edit.kind.startswith("event_") and event_ids:
        e = world.events[event_ids[edit.target % len(event_ids)]]
        if edit.kind == "event_delete":
            history.gone.add(e.id)
            left = {k: v for k, v in world.events.items() if k != e.id}
            history.world = replace(world, events=left, counter=counter)
            return
        if edit.kind == "event_subject":
            e = replace(e, subject=SUBJECTS[edit.value % len(SUBJECTS)])
        elif edit.kind == "event_tag":
            e = replace(e, subject=f"{e.subject or ''} {edit.value} [Sync]")
        elif edit.kind == "event_time" and e.start is not None and e.end is not None:
            shift = timedelta(hours=edit.value)
            e = replace(e, start=e.start + shift, end=e.end + shift)
        else:
            body, is_html = BODIES[edit.value % len(BODIES)]
            e = replace(e, body=body, body_is_html=is_html)
        e = replace(e, change_key=f"ck-{counter}")
        history.world = replace(world, events={**world.events, e.id: e}, counter=counter)
    elif edit.kind == "both_sides":
        # R12b: a linked task and its event both edited between two cycles.
        pairs = [
            (world.tasks[k.task_id], world.events[k.event_id])
            for k in world.links
            if k.task_id in world.tasks and k.event_id in world.events
        ]
        if pairs:
            t, e = pairs[edit.target % len(pairs)]
            t = replace(t, title=f"{t.title[:80]} v{edit.value}", updated_at=f"s5-{counter}")
            e = replace(e, subject=f"Edited {edit.value} [sync]", change_key=f"ck-{counter}")
            history.world = replace(
                world,
                tasks={**world.tasks, t.id: t},
                events={**world.events, e.id: e},
                counter=counter,
            )
    elif edit.kind == "clock":
        history.now += timedelta(hours=abs(edit.value) + 1)
    elif edit.kind == "lose_links":
        history.world = replace(world, links=())


def decide(history: History) -> list[Decision]:
    world = history.world
    return decide_cycle(
        world.tasks.values(),
        world.events.values(),
        world.links,
        OPTIONS,
        history.now,
        employee_id=EMPLOYEE,
        gone_event_ids=frozenset(history.gone),
    )


def assert_one_write_per_item(decisions: list[Decision]) -> None:
    """R16: one create, indeed one write, per task and per event in one cycle."""
    created_for_tasks = Counter(d.task_id for d in decisions if isinstance(d, CreateEvent))
    created_for_events = Counter(d.event_id for d in decisions if isinstance(d, CreateTask))
    assert all(n == 1 for n in created_for_tasks.values()), decisions
    assert all(n == 1 for n in created_for_events.values()), decisions
    task_writes = Counter(
        d.task_id for d in decisions if isinstance(d, CreateEvent | UpdateEvent | UpdateTask)
    )
    event_writes = Counter(
        d.event_id for d in decisions if isinstance(d, UpdateEvent | UpdateTask | CreateTask)
    )
    assert all(n == 1 for n in task_writes.values()), decisions
    assert all(n == 1 for n in event_writes.values()), decisions


def assert_no_duplicates_live(world: World) -> None:
    """R16: never two live events for one task, nor two live tasks for one event."""
    refs = Counter(parse_task_ref(e.task_ref) for e in world.events.values() if e.task_ref)
    assert all(n == 1 for n in refs.values()), refs
    externals = Counter(t.external_ref for t in world.tasks.values() if t.external_ref)
    assert all(n == 1 for n in externals.values()), externals


def assert_idle(decisions: list[Decision]) -> None:
    """R17: nothing written, nothing recorded — only standing skips may repeat."""
    assert writes(decisions) == [], decisions
    assert all(isinstance(d, Skip) and d.record is None for d in decisions), decisions


@given(
    st.lists(st.integers(1, 6), max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*(tasks(i) for i in ids))
    ),
    st.lists(st.sampled_from(["o-a", "o-b", "o-c", "o-d"]), max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*(events(i) for i in ids))
    ),
    st.lists(
        st.tuples(st.lists(EDITS, min_size=1, max_size=3), st.none() | st.integers(0, 8)),
        max_size=8,
    ),
)
@example(  # issue 23 item 3: a re-adopted import records the event's hash (simulator too)
    (),
    (
        EventSnapshot(
            id="o-d",
            subject="Lunch [sync]",
            body="",
            start=NOW + timedelta(minutes=1),
            end=NOW + timedelta(minutes=1),
            is_all_day=False,
            reminder_minutes=None,
            change_key="ck-0",
        ),
    ),
    [([Edit("lose_links", 0, 0)], None)],
)
def test_applied_cycle_is_followed_by_an_idle_one_and_nothing_is_duplicated_R16_R17(
    initial_tasks: tuple[TaskSnapshot, ...],
    initial_events: tuple[EventSnapshot, ...],
    steps: list[tuple[list[Edit], int | None]],
) -> None:
    world = World(
        tasks={t.id: t for t in initial_tasks},
        events={e.id: e for e in initial_events},
        counter=100,
    )
    history = History(world, NOW, set())
    for edits, crash_at in [([Edit("nothing", 0, 0)], None), *steps]:
        for edit in edits:
            edit_world(history, edit)
        decisions = decide(history)
        assert_one_write_per_item(decisions)
        # A crash hits one of the cycle's writes (the interesting places to die).
        at_writes = [i for i, d in enumerate(decisions) if isinstance(d, WRITES)]
        crashed = crash_at is not None and bool(at_writes)
        at = at_writes[crash_at % len(at_writes)] if crash_at is not None and at_writes else None
        history.world = apply_decisions(history.world, decisions, at)
        assert_no_duplicates_live(history.world)
        if crashed:
            # The next cycle recovers: it decides from whatever the crash left.
            recovery = decide(history)
            assert_one_write_per_item(recovery)
            history.world = apply_decisions(history.world, recovery)
            assert_no_duplicates_live(history.world)
        assert_idle(decide(history))


def test_updates_reach_the_simulated_sides_R5_R10() -> None:
    """The simulator applies what it is given (so the properties above test something)."""
    t = TaskSnapshot(
        1,
        EMPLOYEE,
        TaskKind.CUSTOMER,
        "Visit",
        "",
        NOW + timedelta(days=1),
        NOW + timedelta(days=1, hours=1),
        None,
        True,
        False,
        None,
        "v0",
        bill_to=ADDRESS,
    )
    history = History(World(tasks={1: t}), NOW, set())
    history.world = apply_decisions(history.world, decide(history))
    (event,) = history.world.events.values()
    assert event.subject == "Visit"
    history.world = replace(history.world, tasks={1: replace(t, title="Visit 2")})
    update = decide(history)
    assert [type(d) for d in update] == [UpdateEvent]
    history.world = apply_decisions(history.world, update)
    assert history.world.events[event.id].subject == "Visit 2"
    assert_idle(decide(history))
