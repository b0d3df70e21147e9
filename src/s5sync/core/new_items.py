"""The rules of what has no link yet (R1, R2, R8, R9, R12d, R16b, R23): a ticked task of
the user's with no event is sent as a new one, a tagged event with no task is imported,
or the cycle says why not."""

from __future__ import annotations

from s5sync.core.cycle_facts import CycleFacts, push_notes
from s5sync.core.decisions import CreateEvent, CreateTask, Skip
from s5sync.core.eligibility import event_label, importable, push_blocker, task_label
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.payloads import event_payload, imported_task, predicted_event_hash
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import EventSnapshot, Link, TaskSnapshot
from s5sync.core.tag import has_tag


class NewItems(CycleFacts):
    """The decisions of the cycle's unlinked tasks (`new_task`) and events (`new_event`)."""

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
