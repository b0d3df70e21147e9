"""A pure model of both sides and the mapping, to apply decisions to (R16, R16b, R17).

The property tests use it to check that an applied cycle is followed by an idle one
(R17) and that no sequence of edits, cycles and crashes makes a second event for a task
or a second task for an event (R16); the in-memory fakes may use it too. It applies each
decision as DESIGN.md's shell does: a pending link row first, the write, then the new
hashes from what the written side now reads as. `crash_at` stops a cycle half-way
through one decision (written outside, link row left pending), like a killed process.
Ids and change keys come from counters: nothing random, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from s5sync.core.decisions import (
    AdoptEvent,
    AdoptTask,
    CreateEvent,
    CreateTask,
    Decision,
    MarkDeletedInOutlook,
    MarkTaskDeleted,
    Skip,
    UpdateEvent,
    UpdateTask,
)
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.payloads import drafted_task, imported_task
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, Origin, TaskSnapshot


@dataclass(frozen=True)
class World:
    """Both sides and the link rows of one user, after some history."""

    tasks: dict[int, TaskSnapshot] = field(default_factory=dict)
    events: dict[str, EventSnapshot] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    counter: int = 0
    # Every create ever applied, to check R16 across a whole history.
    created_events: tuple[int, ...] = ()
    created_tasks: tuple[str, ...] = ()

    def tick(self) -> tuple[World, int]:
        return replace(self, counter=self.counter + 1), self.counter + 1


def _without(
    links: tuple[Link, ...], task_id: int | None, event_id: str | None
) -> tuple[Link, ...]:
    return tuple(
        link
        for link in links
        if not (task_id is not None and link.task_id == task_id)
        and not (event_id is not None and link.event_id == event_id)
    )


def _set_link(world: World, link: Link, drop_task: int | None, drop_event: str | None) -> World:
    return replace(world, links=(*_without(world.links, drop_task, drop_event), link))


def _change_link(world: World, match: Link, **changes: object) -> World:
    return replace(
        world,
        links=tuple(replace(link, **changes) if link is match else link for link in world.links),  # type: ignore[arg-type]
    )


def _link_of(world: World, task_id: int | None, event_id: str | None) -> Link | None:
    for link in world.links:
        if task_id is not None and link.task_id == task_id:
            return link
        if event_id is not None and link.event_id == event_id:
            return link
    return None


def _create_event(world: World, d: CreateEvent, crash: bool) -> World:
    world, n = world.tick()
    pending = _link_of(world, d.task_id, None)
    transaction = (pending.transaction_id if pending else None) or d.transaction_id or f"tx-{n}"
    payload = d.payload
    event = EventSnapshot(
        id=f"ev-{n}",
        subject=payload.subject,
        body=payload.body_html,
        body_is_html=True,
        start=payload.start,
        end=payload.end,
        reminder_minutes=payload.reminder_minutes,
        categories=payload.categories or (payload.category,),
        change_key=f"ck-{n}",
        task_ref=payload.task_ref,
        transaction_id=transaction,
        is_all_day=payload.is_all_day,
    )
    world = replace(
        world,
        events={**world.events, event.id: event},
        created_events=(*world.created_events, d.task_id),
    )
    if crash:
        row = Link(d.task_id, None, Origin.S5, LinkState.PENDING, transaction_id=transaction)
        return _set_link(world, row, d.task_id, None)
    row = Link(
        d.task_id,
        event.id,
        Origin.S5,
        LinkState.ACTIVE,
        transaction_id=transaction,
        task_hash=d.task_hash,
        event_hash=event_hash(event),
        change_key=event.change_key,
    )
    return _set_link(world, row, d.task_id, None)


def _update_event(world: World, d: UpdateEvent) -> World:
    link = _link_of(world, d.task_id, d.event_id)
    assert link is not None
    old = world.events.get(d.event_id)
    if old is None:
        # The PATCH answers 404: the user deleted it (R7b).
        return _change_link(world, link, state=LinkState.OUTLOOK_DELETED)
    world, n = world.tick()
    payload = d.payload
    # None: the event was beyond the cache; the shell adds s5sync's category (R3, R5).
    kept = old.categories
    categories = (
        payload.categories
        if payload.categories is not None
        else kept
        if payload.category in kept
        else (*kept, payload.category)
    )
    event = replace(
        old,
        subject=payload.subject,
        body=payload.body_html,
        body_is_html=True,
        start=payload.start,
        end=payload.end,
        reminder_minutes=payload.reminder_minutes,
        categories=categories,
        change_key=f"ck-{n}",
        task_ref=payload.task_ref,
        is_all_day=payload.is_all_day,
    )
    world = replace(world, events={**world.events, event.id: event})
    return _change_link(
        world,
        link,
        task_hash=d.task_hash,
        event_hash=event_hash(event),
        change_key=event.change_key,
    )


def _create_task(world: World, d: CreateTask, crash: bool) -> World:
    world, n = world.tick()
    task = replace(imported_task(d.draft, d.employee_id, d.event_id), id=n, updated_at=f"v{n}")
    world = replace(
        world,
        tasks={**world.tasks, task.id: task},
        created_tasks=(*world.created_tasks, d.event_id),
    )
    if crash:
        row = Link(None, d.event_id, Origin.OUTLOOK, LinkState.PENDING)
        return _set_link(world, row, None, d.event_id)
    return _set_link(world, d.link(task), None, d.event_id)


def _update_task(world: World, d: UpdateTask) -> World:
    task = world.tasks.get(d.task_id)
    link = _link_of(world, d.task_id, d.event_id)
    assert link is not None
    if task is None or task.updated_at != d.seen_updated_at:
        return world  # WriteConflict: decided again next cycle
    world, n = world.tick()
    new = replace(drafted_task(task, d.draft), updated_at=f"v{n}")
    world = replace(world, tasks={**world.tasks, new.id: new})
    return _change_link(
        world, link, task_hash=task_hash(new), event_hash=d.event_hash, change_key=d.change_key
    )


def _adopt_event(world: World, d: AdoptEvent) -> World:
    old = _link_of(world, d.task_id, None)
    row = Link(
        d.task_id,
        d.event_id,
        d.origin,
        LinkState.ACTIVE,
        transaction_id=None if old is None else old.transaction_id,
        event_hash=d.event_hash,
        change_key=d.change_key,
    )
    return _set_link(world, row, d.task_id, d.event_id)


def _adopt_task(world: World, d: AdoptTask) -> World:
    row = Link(
        d.task_id,
        d.event_id,
        Origin.OUTLOOK,
        LinkState.ACTIVE,
        task_hash=d.task_hash,
        # Issue 23 (R16b): both sides as they are now, as sync/apply.py records them.
        event_hash=d.event_hash,
        change_key=d.change_key,
    )
    return _set_link(world, row, d.task_id, d.event_id)


def _mark_task_deleted(world: World, link: Link, d: MarkTaskDeleted) -> World:
    change_key = d.change_key
    marked = world.events.get(d.event_id or "")
    mark = d.removed
    if mark is not None and marked is not None and mark.category not in marked.categories:
        # R6b: the categories alone are written (a new change key, the same hash).
        world, n = world.tick()
        events = dict(world.events)
        events[marked.id] = replace(
            marked, categories=(*marked.categories, mark.category), change_key=f"ck-{n}"
        )
        world, change_key = replace(world, events=events), f"ck-{n}"
    return _change_link(
        world, link, state=LinkState.TASK_DELETED, event_hash=d.event_hash, change_key=change_key
    )


def _skip(world: World, link: Link | None, d: Skip) -> World:
    if d.record is None or link is None:
        return world
    record = d.record
    changes: dict[str, object] = {}
    if record.task_hash is not None:
        changes["task_hash"] = record.task_hash
    if record.event_hash is not None:
        changes["event_hash"] = record.event_hash
        changes["change_key"] = record.change_key
    return _change_link(world, link, **changes)


def apply_decision(world: World, decision: Decision, *, crash: bool = False) -> World:
    """One decision applied as the shell applies it (`crash`: stopped half-way)."""
    if isinstance(decision, CreateEvent):
        return _create_event(world, decision, crash)
    if isinstance(decision, CreateTask):
        return _create_task(world, decision, crash)
    if crash:
        return world
    if isinstance(decision, UpdateEvent):
        return _update_event(world, decision)
    if isinstance(decision, UpdateTask):
        return _update_task(world, decision)
    if isinstance(decision, AdoptEvent):
        return _adopt_event(world, decision)
    if isinstance(decision, AdoptTask):
        return _adopt_task(world, decision)
    link = _link_of(world, decision.task_id, decision.event_id)
    if isinstance(decision, MarkDeletedInOutlook):
        assert link is not None
        return _change_link(
            world, link, state=LinkState.OUTLOOK_DELETED, task_hash=decision.task_hash
        )
    if isinstance(decision, MarkTaskDeleted):
        assert link is not None
        return _mark_task_deleted(world, link, decision)
    assert isinstance(decision, Skip)
    return _skip(world, link, decision)


def apply_decisions(world: World, decisions: list[Decision], crash_at: int | None = None) -> World:
    """A cycle's decisions applied in order; with `crash_at`, the cycle dies there."""
    for index, decision in enumerate(decisions):
        if crash_at is not None and index == crash_at:
            return apply_decision(world, decision, crash=True)
        world = apply_decision(world, decision)
    return world
