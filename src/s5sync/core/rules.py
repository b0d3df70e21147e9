"""One user's cycle decided at once from both sides (R1–R13, R15, R16b, R17, R23).

`decide_cycle` is the whole of the product's judgement: it takes frozen snapshots and
one `now` and returns decisions (`core.decisions`); the shell applies them. Deciding
both sides together is what lets R12b see that a task and its tagged event both changed.

What the shell passes in (DESIGN.md "The shape"):
- `tasks`: the push candidates (R1), every linked task that still exists, every task a
  cached event's hidden identity names (R16b), and every task whose `external_ref`
  names an unlinked cached event or a pending import row. A linked task that is not
  among them is taken as deleted in System Five (R6, R11b).
- `events`: the window cache (wider than the import window, so an event entering the
  window as `now` moves is seen with no change in Outlook, R8).
- `links`: the user's mapping rows; `gone_event_ids`: events confirmed deleted by a GET
  (an `@removed` delta entry alone may mean "left the window", R7b).

How change is seen (R17): a task changed when its hash differs from the link's; an
event changed when its changeKey *and* its hash differ. Writes and adoptions store new
hashes, so an applied cycle is followed by an idle one. Skips that would repeat for a
linked pair store hashes too (`Skip.record`), so they are logged once per change.
Skips that must be decided again as time passes (window, start passed) store nothing.

R17b: with `tasks_readable=False` nothing is decided (both directions need System Five:
push reads the tasks, import needs to know which tasks exist). With
`events_readable=False` nothing is imported and no task whose event carries the tag is
pushed (its Outlook side may have changed unseen, R12b); other pushes go on.

The rules themselves live by what they judge: `core.linked_pairs` (a task and its event
linked by a mapping row), `core.new_items` (a task or an event with no link yet) and
`core.adoption` (pairing what a lost mapping left, R16b), over `core.cycle_facts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import datetime

from s5sync.core.adoption import adopt
from s5sync.core.decisions import AdoptEvent, AdoptTask, Decision
from s5sync.core.linked_pairs import LinkedPairs
from s5sync.core.new_items import NewItems
from s5sync.core.reasons import Direction
from s5sync.core.snapshots import EventSnapshot, Link, StoreOptions, TaskSnapshot


class _Cycle(LinkedPairs, NewItems):
    """One cycle: adoptions, then every linked pair, every unlinked task and event."""

    def decide(self) -> list[Decision]:
        adoption = adopt(
            self.tasks,
            self.events,
            tuple(self.links),
            self.options.sync_tag,
            self.employee_id,
            missing=self.missing,
        )
        self.out.extend(adoption.decisions)
        self.links = list(adoption.links)
        self.orphaned = adoption.orphaned
        for link in sorted(self.links, key=lambda k: (k.task_id or 0, k.event_id or "")):
            if link.task_id is not None and link.event_id is not None:
                self.linked(link, link.task_id, link.event_id)
        by_task, by_event = self.by_task(), self.by_event()
        for task in sorted(self.tasks.values(), key=lambda t: t.id):
            pending = by_task.get(task.id)
            if pending is None or pending.event_id is None:
                self.new_task(task, pending)
        if self.events_readable:
            for event in sorted(self.events.values(), key=lambda e: e.id):
                row = by_event.get(event.id)
                if (row is None or row.task_id is None) and event.id not in self.orphaned:
                    self.new_event(event)
        # R15: adoptions first (they only write link rows), then push, then import.
        return sorted(
            self.out,
            key=lambda d: (
                not isinstance(d, AdoptEvent | AdoptTask),
                d.direction is Direction.IMPORT,
            ),
        )


def decide_cycle(
    tasks: Iterable[TaskSnapshot],
    events: Iterable[EventSnapshot],
    links: Iterable[Link],
    options: StoreOptions,
    now: datetime,
    *,
    employee_id: int,
    gone_event_ids: Set[str] = frozenset(),
    missing_event_ids: Set[str] = frozenset(),
    unknown_event_ids: Set[str] = frozenset(),
    tasks_readable: bool = True,
    events_readable: bool = True,
    resync: bool = False,
) -> list[Decision]:
    """R15: every decision of one user's cycle, from both sides read at `now`;
    `resync` (R14c): also every future ticked task compared with its event."""
    if not tasks_readable:
        return []
    cycle = _Cycle(
        tasks={task.id: task for task in tasks},
        events={event.id: event for event in events},
        links=list(links),
        options=options,
        now=now,
        employee_id=employee_id,
        gone=gone_event_ids,
        missing=missing_event_ids,
        unknown=unknown_event_ids,
        events_readable=events_readable,
        resync=resync,
    )
    return cycle.decide()
