"""The rules of a linked pair (R2, R5–R7b, R10–R12b, R14c, R17b, R23): what a task and its
event, linked by a mapping row, become in one cycle — updated on one side, marked as
deleted on the other, skipped and said once per change, or repaired by a resync."""

from __future__ import annotations

from dataclasses import replace

from s5sync.core.cycle_facts import CycleFacts, push_notes
from s5sync.core.decisions import (
    MarkDeletedInOutlook,
    MarkTaskDeleted,
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
    overwritten,
    predicted_event_hash,
    removed_mark,
)
from s5sync.core.reasons import Direction, Reason
from s5sync.core.resync import repair, restore
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, Origin, TaskSnapshot
from s5sync.core.tag import has_tag


class LinkedPairs(CycleFacts):
    """The decisions of the cycle's linked pairs (`linked`, one pair at a time)."""

    def linked(self, link: Link, task_id: int, event_id: str) -> None:
        """One linked pair: by its state, whether its task still exists and is readable,
        whether its event was confirmed gone, and whose task it is now."""
        if event_id in self.unknown:
            return  # R17b: its event could not be read; decided on the next cycle
        task = self.tasks.get(task_id)
        event = self.events.get(event_id)
        tagged = event is not None and has_tag(event.subject, self.options.sync_tag)
        if link.state is LinkState.OUTLOOK_DELETED:
            self.deleted_in_outlook(link, task, event_id)
            return
        if link.state is LinkState.TASK_DELETED:
            self.deleted_in_system_five(link, task_id, task, event, tagged)
            return
        if task is None:
            self.task_gone(link, task_id, event_id, event)
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

    def deleted_in_outlook(self, link: Link, task: TaskSnapshot | None, event_id: str) -> None:
        """R7b: later changes of the task do not recreate the event; said once per change."""
        if task is None or push_blocker(task, self.employee_id) is not None:
            return
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

    def deleted_in_system_five(
        self,
        link: Link,
        task_id: int,
        task: TaskSnapshot | None,
        event: EventSnapshot | None,
        tagged: bool,
    ) -> None:
        """R11b: later changes of the event do not recreate the task; said once per
        change. R6b, R14c: a resync undoes a remap whose task is back."""
        if self.resync and self.events_readable and task is not None and event is not None:
            restored = restore(link, task, event, self.options, self.now, self.employee_id)
            if restored is not None:
                self.out.append(restored)  # R6b, R14c: the remap was undone
                return
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

    def task_gone(
        self, link: Link, task_id: int, event_id: str, event: EventSnapshot | None
    ) -> None:
        """R6, R6b: the task was deleted; the event is kept, never moved; it only gets the
        Removed category."""
        mark = None if event_id in self.gone else removed_mark(link, event, self.options)
        if mark is not None and not self.events_readable:
            return  # R17b: marked once Outlook answers again
        if event is None:
            self.out.append(MarkTaskDeleted(task_id, event_id, "(deleted task)", removed=mark))
            return
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
