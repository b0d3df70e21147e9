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
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, field, replace
from datetime import datetime

from s5sync.core.adoption import adopt
from s5sync.core.characters import printable
from s5sync.core.decisions import (
    AdoptEvent,
    AdoptTask,
    CreateEvent,
    CreateTask,
    Decision,
    Direction,
    MarkDeletedInOutlook,
    MarkTaskDeleted,
    Reason,
    Recorded,
    Skip,
    UpdateEvent,
    UpdateTask,
)
from s5sync.core.eligibility import (
    event_changed,
    event_label,
    importable,
    push_blocker,
    task_label,
)
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.payloads import (
    ImportDraft,
    draft_of,
    drafted_task,
    event_payload,
    imported_task,
    overwritten,
    predicted_event_hash,
    removed_mark,
)
from s5sync.core.resync import repair, restore
from s5sync.core.snapshots import (
    EventSnapshot,
    Link,
    LinkState,
    Origin,
    StoreOptions,
    TaskSnapshot,
)
from s5sync.core.tag import has_tag


@dataclass
class _Cycle:
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

    # --- linked pairs -------------------------------------------------------------

    def linked(self, link: Link, task_id: int, event_id: str) -> None:
        if event_id in self.unknown:
            return  # R17b: its event could not be read; decided on the next cycle
        task = self.tasks.get(task_id)
        event = self.events.get(event_id)
        tagged = event is not None and has_tag(event.subject, self.options.sync_tag)
        if link.state is LinkState.OUTLOOK_DELETED:
            # R7b: later changes of the task do not recreate the event; said once per change.
            if task is not None and push_blocker(task, self.employee_id) is None:
                current = task_hash(task)
                if current != link.task_hash:
                    self.out.append(
                        Skip(
                            Reason.DELETED_IN_OUTLOOK,
                            Direction.PUSH,
                            task_label(task),
                            task.id,
                            event_id,
                            record=Recorded(task_hash=current),
                        )
                    )
            return
        if link.state is LinkState.TASK_DELETED:
            if self.resync and self.events_readable and task is not None and event is not None:
                restored = restore(link, task, event, self.options, self.now, self.employee_id)
                if restored is not None:
                    self.out.append(restored)  # R6b, R14c: the remap was undone
                    return
            # R11b: later changes of the event do not recreate the task; said once per change.
            if event is not None and tagged and event_changed(event, link):
                self.out.append(
                    Skip(
                        Reason.DELETED_IN_SYSTEM_FIVE,
                        Direction.IMPORT,
                        event_label(event),
                        task_id,
                        event.id,
                        record=Recorded(event_hash=event_hash(event), change_key=event.change_key),
                    )
                )
            return
        if task is None:
            # R6, R6b: the event is kept, never moved; it only gets the Removed category.
            mark = None if event_id in self.gone else removed_mark(link, event, self.options)
            if mark is not None and not self.events_readable:
                return  # R17b: marked once Outlook answers again
            if event is None:
                self.out.append(MarkTaskDeleted(task_id, event_id, "(deleted task)", removed=mark))
            else:
                self.out.append(
                    MarkTaskDeleted(
                        task_id,
                        event_id,
                        event_label(event),
                        event_hash(event),
                        event.change_key,
                        removed=mark,
                    )
                )
            return
        if task.unreadable is not None:
            # R23: an unreadable row is not a deleted one; nothing is written either way.
            self.out.append(
                Skip(
                    Reason.BAD_TIME,
                    Direction.PUSH,
                    task_label(task),
                    task.id,
                    event_id,
                    detail=task.unreadable,
                )
            )
            return
        if event_id in self.gone:
            self.out.append(
                MarkDeletedInOutlook(task.id, event_id, task_label(task), task_hash(task))
            )
            return
        if task.employee_id != self.employee_id:
            self.no_longer_theirs(link, task, event_id, event)
            return
        self.active(link, task, event_id, event, tagged)

    def no_longer_theirs(
        self, link: Link, task: TaskSnapshot, event_id: str, event: EventSnapshot | None
    ) -> None:
        """R6b: the task is another employee's now (moved in System Five, or the user was
        remapped): its event is kept, marked like a deleted task's and no longer updated,
        so another employee's customer visit never goes on looking booked here."""
        mark = removed_mark(link, event, self.options)
        if mark is not None and not self.events_readable:
            return  # R17b: marked once Outlook answers again
        label = event_label(event) if event is not None else task_label(task)
        self.out.append(
            MarkTaskDeleted(
                task.id,
                event_id,
                label,
                event_hash(event) if event is not None else None,
                event.change_key if event is not None else None,
                reason=Reason.OTHER_EMPLOYEE,
                removed=mark,
            )
        )

    def active(
        self,
        link: Link,
        task: TaskSnapshot,
        event_id: str,
        event: EventSnapshot | None,
        tagged: bool,
    ) -> None:
        current = task_hash(task)
        task_changed = current != link.task_hash
        untagged_edit: Skip | None = None
        if event is not None and event_changed(event, link) and self.events_readable:
            if tagged:
                checked = importable(event, self.options, self.now)
                if isinstance(checked, ImportDraft):
                    self.update_task(link, task, event, checked, task_changed)
                    return
                self.out.append(replace(checked, task_id=task.id))
            else:
                # R7: Outlook edits to a pushed event are not sent back without the tag.
                # Nothing is recorded (the skip stands, said once): the link keeps the hash
                # of s5sync's last write, so the next push knows the event was edited in
                # Outlook and says what it overwrites (R5b).
                untagged_edit = Skip(
                    Reason.NO_TAG,
                    Direction.IMPORT,
                    event_label(event),
                    task.id,
                    event.id,
                )
        pushed = False
        if task_changed and not (tagged and not self.events_readable):
            pushed = self.push_update(link, task, event_id, event, current)
        # A tagged event edited in Outlook speaks for its task (R12): never overwritten.
        outlook_speaks = tagged and event is not None and event_changed(event, link)
        if self.resync and self.events_readable and event is not None and not outlook_speaks:
            repaired = (
                None if pushed else repair(task, event, self.options, self.now, self.employee_id)
            )
            if repaired is not None:
                self.out.append(repaired)  # R14c: re-pushed where they differ
                return
        if untagged_edit is not None and not pushed:
            self.out.append(untagged_edit)

    def push_update(
        self,
        link: Link,
        task: TaskSnapshot,
        event_id: str,
        event: EventSnapshot | None,
        current: str,
    ) -> bool:
        """R2, R5, R6, R12d: send a changed linked task to its event, or say why not."""
        blocker = push_blocker(task, self.employee_id)
        if blocker is None and task.start <= self.now:
            blocker = Reason.START_PASSED  # R2: also for updates
        if blocker is None and task.end < task.start:
            blocker = Reason.BAD_TIME  # R23
        if blocker is not None:
            # R6: unticking (or any other reason) keeps the event and stops updates.
            self.out.append(
                Skip(
                    blocker,
                    Direction.PUSH,
                    task_label(task),
                    task.id,
                    event_id,
                    record=Recorded(task_hash=current),
                )
            )
            return False
        payload = event_payload(task, event, self.options, new=False)
        self.out.append(
            UpdateEvent(
                task.id,
                event_id,
                task_label(task),
                payload,
                current,
                predicted_event_hash(payload),
                Reason.IMPORTED_TASK_NOW_SYNCED
                if link.origin is Origin.OUTLOOK
                else Reason.TASK_CHANGED,
                push_notes(task),
                # R5b: overwriting what was edited in Outlook is said.
                overwritten(event, payload, self.options)
                if event is not None and event_changed(event, link)
                else (),
            )
        )
        return True

    def update_task(
        self,
        link: Link,
        task: TaskSnapshot,
        event: EventSnapshot,
        checked: ImportDraft,
        task_changed: bool,
    ) -> None:
        """R10, R12, R12b: the event's values overwrite its task's."""
        if task_changed and link.task_hash is not None:
            reason = Reason.CONFLICT_OUTLOOK_WINS
        elif link.origin is Origin.S5:
            reason = Reason.TAG_ADDED_TO_PUSHED_EVENT
        else:
            reason = Reason.EVENT_CHANGED
        self.out.append(
            UpdateTask(
                task.id,
                event.id,
                task.updated_at,
                task_label(task),
                checked.draft,
                event_hash(event),
                event.change_key,
                task_hash(drafted_task(task, checked.draft)),
                reason,
                draft_of(task) if reason is Reason.CONFLICT_OUTLOOK_WINS else None,
                checked.adapted,
            )
        )

    # --- unlinked items -----------------------------------------------------------

    def new_task(self, task: TaskSnapshot, pending: Link | None) -> None:
        """R1, R2: a task with no event yet."""
        if not task.sync or task.employee_id != self.employee_id:
            return  # not a push candidate at all (R1): nothing to say
        label = task_label(task)
        if task.unreadable is not None:
            self.out.append(
                Skip(
                    Reason.BAD_TIME,
                    Direction.PUSH,
                    label,
                    task_id=task.id,
                    detail=task.unreadable,
                )
            )
            return
        blocker = push_blocker(task, self.employee_id)
        if blocker is None and task.start <= self.now:
            blocker = Reason.START_PASSED
        if blocker is None and task.end < task.start:
            blocker = Reason.BAD_TIME
        if blocker is not None:
            self.out.append(Skip(blocker, Direction.PUSH, label, task_id=task.id))
            return
        payload = event_payload(task, None, self.options, new=True)
        self.out.append(
            CreateEvent(
                task.id,
                label,
                payload,
                task_hash(task),
                predicted_event_hash(payload),
                None if pending is None else pending.transaction_id,
                notes=push_notes(task) + self.named_nothing(task),
            )
        )

    def named_nothing(self, task: TaskSnapshot) -> tuple[str, ...]:
        """R12d, R16b: said when the event a task came from no longer exists."""
        if task.external_ref is None or task.external_ref not in self.missing:
            return ()
        return (
            f"the Outlook event it names ({task.external_ref[:60]}) does not exist, "
            "so it is sent as a new event",
        )

    def new_event(self, event: EventSnapshot) -> None:
        """R8, R9: a tagged event with no task yet."""
        if not has_tag(event.subject, self.options.sync_tag):
            return
        if any(
            task.external_ref == event.id and task.employee_id != self.employee_id
            for task in self.tasks.values()
        ):
            # R22, R16: System Five keeps external_ref unique, and another employee's
            # task holds this one; it is never taken over.
            self.out.append(
                Skip(
                    Reason.OTHER_EMPLOYEE,
                    Direction.IMPORT,
                    event_label(event),
                    event_id=event.id,
                    detail="a task of another employee already names this event",
                )
            )
            return
        checked = importable(event, self.options, self.now)
        if isinstance(checked, Skip):
            self.out.append(checked)
            return
        future = imported_task(checked.draft, self.employee_id, event.id)
        self.out.append(
            CreateTask(
                event.id,
                self.employee_id,
                event_label(event),
                checked.draft,
                event_hash(event),
                event.change_key,
                task_hash(future),
                adapted=checked.adapted,
            )
        )

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


def push_notes(task: TaskSnapshot) -> tuple[str, ...]:
    """R23: how a pushed task's values were adapted, for its activity entry."""
    changed = (printable(task.title, lines=True), printable(task.notes, lines=True)) != (
        task.title,
        task.notes,
    )
    return task.time_notes + (("control characters removed",) if changed else ())


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
