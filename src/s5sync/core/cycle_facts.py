"""What one cycle's rules read and write (core.rules): the indexes of both sides and the
links, the store's options, the cycle's `now` and what it could not read, and the
decisions taken so far; and the notes of a pushed task (R23), said for creates and
updates alike."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime

from s5sync.core.characters import printable
from s5sync.core.decisions import Decision
from s5sync.core.snapshots import EventSnapshot, Link, StoreOptions, TaskSnapshot


@dataclass
class CycleFacts:
    """The indexes and options of one cycle, and the decisions taken so far."""

    tasks: dict[int, TaskSnapshot]
    events: dict[str, EventSnapshot]
    links: list[Link]
    options: StoreOptions
    now: datetime
    employee_id: int
    gone: Set[str]
    events_readable: bool
    # R12d, R16b: `external_ref`s the cycle looked up and found to name no event.
    missing: Set[str] = frozenset()
    # R5, R17b: linked events beyond the window that could not be read this cycle.
    unknown: Set[str] = frozenset()
    out: list[Decision] = field(default_factory=list)
    # Events whose hidden identity names a deleted task: never imported (R11b).
    orphaned: frozenset[str] = frozenset()
    # R14c: a resync compares every future ticked task with its event (core.resync).
    resync: bool = False

    def by_task(self) -> dict[int, Link]:
        return {link.task_id: link for link in self.links if link.task_id is not None}

    def by_event(self) -> dict[str, Link]:
        return {link.event_id: link for link in self.links if link.event_id is not None}


def push_notes(task: TaskSnapshot) -> tuple[str, ...]:
    """R23: how a pushed task's values were adapted, for its activity entry."""
    changed = (printable(task.title, lines=True), printable(task.notes, lines=True)) != (
        task.title,
        task.notes,
    )
    return task.time_notes + (("control characters removed",) if changed else ())
