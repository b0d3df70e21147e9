"""Rebuilding missing links from the identities both sides carry (R16, R16b).

Every pushed event carries its task's identity (`task_ref`, an extended property) and
every imported task its event's id (`external_ref`). So a link row that is missing —
lost or restored database — or left pending by a crash between the write and the row's
completion is found again here, before anything is decided: the pair is *adopted*,
never created a second time.

- An event naming a task that has no event yet (no link, or a pending push row) is
  adopted by that task. An event naming a task that is linked to another event is a
  copy the user made: a plain event. An event naming a task that no longer exists is
  never imported (R11b): it is reported when it carries the tag.
- A task naming an event that has no task yet (no link, or a pending import row) is
  adopted by that event, whether or not the event is in the cache (R12d: pushed to the
  event it came from, never to a second one).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

from s5sync.core.decisions import AdoptEvent, AdoptTask, Skip
from s5sync.core.eligibility import event_label, task_label
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.payloads import parse_task_ref
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, Origin, TaskSnapshot
from s5sync.core.tag import has_tag


@dataclass(frozen=True)
class Adoption:
    """The adoptions made, the links as they stand after them, the events never to import."""

    decisions: tuple[AdoptEvent | AdoptTask | Skip, ...]
    links: tuple[Link, ...]
    orphaned: frozenset[str]


def _open_for_event(link: Link | None) -> bool:
    return link is None or (link.state is LinkState.PENDING and link.event_id is None)


def _open_for_task(link: Link | None) -> bool:
    return link is None or (link.state is LinkState.PENDING and link.task_id is None)


class _Adopter:
    """One cycle's adoptions as they are made: the links indexed by both ids, the rows
    replaced and added, the decisions, and the events never to import."""

    def __init__(
        self,
        tasks: Mapping[int, TaskSnapshot],
        events: Mapping[str, EventSnapshot],
        links: tuple[Link, ...],
        sync_tag: str,
        employee_id: int | None,
        missing: Set[str],
    ) -> None:
        self.tasks, self.events, self.links = tasks, events, links
        self.sync_tag, self.employee_id, self.missing = sync_tag, employee_id, missing
        self.by_task = {link.task_id: link for link in links if link.task_id is not None}
        self.by_event = {link.event_id: link for link in links if link.event_id is not None}
        self.replaced: dict[int, Link] = {}  # id() of the old row → its replacement
        self.added: list[Link] = []
        self.decisions: list[AdoptEvent | AdoptTask | Skip] = []
        self.orphaned: set[str] = set()

    def relink(self, old: Link | None, new: Link, task_id: int, event_id: str) -> None:
        if old is None:
            self.added.append(new)
        else:
            self.replaced[id(old)] = new
        self.by_task[task_id] = new
        self.by_event[event_id] = new

    def orphan(self, event: EventSnapshot, skip: Skip) -> None:
        """An event naming a task it can never be linked to is never imported (R11b,
        R22); said when it carries the tag."""
        self.orphaned.add(event.id)
        if has_tag(event.subject, self.sync_tag):
            self.decisions.append(skip)

    def event(self, event: EventSnapshot) -> None:
        """An event whose hidden identity names a task with no event yet is adopted by
        that task."""
        task_id = parse_task_ref(event.task_ref)
        if task_id is None or event.id in self.by_event:
            return
        link = self.by_task.get(task_id)
        if not _open_for_event(link):
            return  # the task has its own event: this one is a copy, a plain event
        task = self.tasks.get(task_id)
        label = event_label(event)
        another = self.employee_id is not None and task is not None
        if another and task is not None and task.employee_id != self.employee_id:
            detail = "the event names a task of another employee"
            skip = Skip(Reason.OTHER_EMPLOYEE, Direction.IMPORT, label, None, event.id, detail)
            self.orphan(event, skip)
            return
        if task is None:
            skip = Skip(Reason.DELETED_IN_SYSTEM_FIVE, Direction.IMPORT, label, task_id, event.id)
            self.orphan(event, skip)
            return
        origin = Origin.OUTLOOK if task.external_ref == event.id else Origin.S5
        adopted = AdoptEvent(
            task.id, event.id, origin, task_label(task), event_hash(event), event.change_key
        )
        self.decisions.append(adopted)
        transaction_id = None if link is None else link.transaction_id
        new = Link(
            task.id,
            event.id,
            origin,
            LinkState.ACTIVE,
            transaction_id=transaction_id,
            event_hash=adopted.event_hash,
            change_key=adopted.change_key,
        )
        self.relink(link, new, task.id, event.id)

    def task(self, task: TaskSnapshot) -> None:
        """A task naming an event with no task yet is adopted by that event (R12d)."""
        ref = task.external_ref
        if ref is None or task.id in self.by_task or ref in self.missing:
            return
        if self.employee_id is not None and task.employee_id != self.employee_id:
            return  # R22: another employee's task is never adopted
        link = self.by_event.get(ref)
        if not _open_for_task(link):
            return
        # Issue 23: a lost or restored mapping records both sides as they are now — the
        # task as staff last saved it is not "changed" by the event it came from (R12b
        # applies only to a real change of both since). A pending import row keeps the
        # refresh: its task was made from the event by a cycle that crashed.
        in_view = self.events.get(ref) if link is None else None
        adopted = AdoptTask(
            task.id,
            ref,
            task_label(task),
            task_hash(task),
            None if in_view is None else event_hash(in_view),
            None if in_view is None else in_view.change_key,
        )
        self.decisions.append(adopted)
        new = Link(
            task.id,
            ref,
            Origin.OUTLOOK,
            LinkState.ACTIVE,
            task_hash=adopted.task_hash,
            event_hash=adopted.event_hash,
            change_key=adopted.change_key,
        )
        self.relink(link, new, task.id, ref)

    def result(self) -> Adoption:
        kept = tuple(self.replaced.get(id(link), link) for link in self.links)
        return Adoption(tuple(self.decisions), kept + tuple(self.added), frozenset(self.orphaned))


def adopt(
    tasks: Mapping[int, TaskSnapshot],
    events: Mapping[str, EventSnapshot],
    links: tuple[Link, ...],
    sync_tag: str,
    employee_id: int | None = None,
    *,
    missing: Set[str] = frozenset(),
) -> Adoption:
    """R16b: adopt every pair whose identities match and whose link is missing.

    R22: with `employee_id`, only that employee's tasks are adopted: an identity naming
    another employee's task (forged over Graph, or copied by another tool) never links
    this user's calendar to it. `missing`: event ids the cycle looked up and found not to
    exist — a task naming one is not adopted (there is nothing to reconnect to).
    """
    adopter = _Adopter(tasks, events, links, sync_tag, employee_id, missing)
    for event in sorted(events.values(), key=lambda e: e.id):
        adopter.event(event)
    for task in sorted(tasks.values(), key=lambda t: t.id):
        adopter.task(task)
    return adopter.result()
