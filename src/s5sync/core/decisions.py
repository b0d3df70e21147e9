"""Decisions: what one cycle will do, as nouns with reasons (STYLE.md habit 2; R18).

The rules return a list of these; the shell applies them and writes the activity log
*from* them, one entry per decision, with `describe()` as the sentence the dashboard
shows. Writes carry everything the shell needs, so it never re-decides:

- `CreateEvent`: insert a pending link row, POST `payload` with a transaction id; then
  store the event id, `task_hash`, and the hash and changeKey of the server's copy.
- `UpdateEvent`: PATCH `payload` onto `event_id`; store `task_hash` and the hash and
  changeKey of the server's copy.
- `CreateTask`: insert a pending link row, `create_imported_task(employee_id, draft,
  event_id)`; store the task id, `event_hash`, `change_key`, the returned task's hash.
- `UpdateTask`: `update_task_from_event(task_id, seen_updated_at, draft)`; store
  `event_hash`, `change_key`, the returned task's hash (a `WriteConflict` stores nothing:
  the next cycle decides again).
- `MarkDeletedInOutlook` / `MarkTaskDeleted`: set the link's state to `outlook_deleted`
  (R7b) / `task_deleted` (R11b), and store the surviving side's hashes they carry (so a
  change made in the same cycle is not reported again as a "later" change); nothing
  outside — except a `MarkTaskDeleted` with a `RemovedMark` (R6b): PATCH the event's
  categories only, in the same `$batch`es as the other writes, then stop the link.
- `AdoptEvent` / `AdoptTask` (R16b): store an `active` link row with the given ids and
  hashes; nothing outside. They come first in the list.
- `Skip`: nothing outside; store the hashes in `record` on its link when there is one.

`predicted_*` hashes are what the core expects the written side to hash to; the shell
stores the hash of what the server or System Five *returned* (`hashing.event_hash`,
`hashing.task_hash`), which differs when Exchange rewrites HTML or System Five rounds a
time. Times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from s5sync.core.hashing import task_hash
from s5sync.core.reasons import PHRASES, Action, Direction, Reason
from s5sync.core.snapshots import Link, LinkState, Origin, TaskDraft, TaskSnapshot


@dataclass(frozen=True)
class EventPayload:
    """The fields s5sync owns on a pushed event (R3, R4, R5, R16b).

    `categories` is the whole list to set — the user's own kept, s5sync's added (R3, R5)
    — when the event is in the cache; None when it is not (beyond the cache window):
    then the shell adds `category` to the event's current list itself.
    `reminder_minutes` None means the reminder is off. `task_ref` is the value of the
    hidden extended property naming the task (R16b).
    """

    subject: str
    body_html: str
    start: datetime
    end: datetime
    reminder_minutes: int | None
    category: str
    categories: tuple[str, ...] | None
    task_ref: str
    # Tasks are timed: an all-day event a task came from (R12c, R12d) becomes timed
    # when the task is pushed to it, so the shell sends isAllDay false explicitly.
    is_all_day: bool = False
    # R4b: the customer's address, on the first send only (then the location is the
    # user's, R5): None on updates.
    location: str | None = None
    # R5b: the owned parts of the body, so the shell can rebuild it around the user's
    # text of an event it had to read first (beyond the cache window).
    notes: str = ""
    maps_url: str | None = None


def _adapted(adapted: tuple[Reason, ...]) -> str:
    return "".join(f"; {PHRASES[reason]}" for reason in adapted)


def _notes(notes: tuple[str, ...]) -> str:
    """R23: how the task's values were adapted (a DST gap or fold, an impossible alarm)."""
    return "".join(f"; {note}" for note in notes)


@dataclass(frozen=True)
class CreateEvent:
    """R1, R2: send a task to Outlook as a new event.

    `transaction_id` is the pending link row's, when a previous cycle got that far (the
    shell resends with it; Graph drops a repeated create); None: the shell makes one.
    """

    action: ClassVar[Action] = Action.CREATE_EVENT

    task_id: int
    label: str
    payload: EventPayload
    task_hash: str
    predicted_event_hash: str
    transaction_id: str | None = None
    reason: Reason = Reason.NEW_SYNCED_TASK
    notes: tuple[str, ...] = ()
    direction: Direction = field(default=Direction.PUSH, init=False)

    def describe(self) -> str:
        return (
            f"Sent '{self.label}' to Outlook as a new event: {PHRASES[self.reason]}"
            f"{_notes(self.notes)}"
        )


@dataclass(frozen=True)
class UpdateEvent:
    """R5, R12d: overwrite the owned fields of the task's event."""

    action: ClassVar[Action] = Action.UPDATE_EVENT

    task_id: int
    event_id: str
    label: str
    payload: EventPayload
    task_hash: str
    predicted_event_hash: str
    reason: Reason = Reason.TASK_CHANGED
    notes: tuple[str, ...] = ()
    # R5b: what Outlook showed, edited there since s5sync's last write, now replaced.
    overwrote: tuple[str, ...] = ()
    # R6b, R14c: a stopped link made active again (a resync after a remap was undone).
    restores: bool = False
    direction: Direction = field(default=Direction.PUSH, init=False)

    def describe(self) -> str:
        text = f"Updated Outlook event '{self.label}': {PHRASES[self.reason]}{_notes(self.notes)}"
        if self.overwrote:
            text += (
                "; the event had been edited in Outlook, and System Five's values replaced "
                + ", ".join(self.overwrote)
            )
        return text


@dataclass(frozen=True)
class CreateTask:
    """R8, R9: import a tagged event as a new task (kind Outlook, needs-review)."""

    action: ClassVar[Action] = Action.CREATE_TASK

    event_id: str
    employee_id: int
    label: str
    draft: TaskDraft
    event_hash: str
    change_key: str
    predicted_task_hash: str
    reason: Reason = Reason.NEW_TAGGED_EVENT
    adapted: tuple[Reason, ...] = ()
    direction: Direction = field(default=Direction.IMPORT, init=False)

    def link(self, task: TaskSnapshot) -> Link:
        """The mapping row once System Five holds `task` (R16): both sides' hashes."""
        return Link(
            task.id,
            self.event_id,
            Origin.OUTLOOK,
            LinkState.ACTIVE,
            task_hash=task_hash(task),
            event_hash=self.event_hash,
            change_key=self.change_key,
        )

    def describe(self) -> str:
        return (
            f"Imported '{self.label}' from Outlook as a new task flagged for review: "
            f"{PHRASES[self.reason]}{_adapted(self.adapted)}"
        )


@dataclass(frozen=True)
class UpdateTask:
    """R10, R12, R12b: overwrite the task's owned fields from its event, flag needs-review.

    `replaced` holds the System Five values Outlook overwrote when both sides changed
    (R12b), for the activity log.
    """

    action: ClassVar[Action] = Action.UPDATE_TASK

    task_id: int
    event_id: str
    seen_updated_at: str
    label: str
    draft: TaskDraft
    event_hash: str
    change_key: str
    predicted_task_hash: str
    reason: Reason = Reason.EVENT_CHANGED
    replaced: TaskDraft | None = None
    adapted: tuple[Reason, ...] = ()
    direction: Direction = field(default=Direction.IMPORT, init=False)

    def describe(self) -> str:
        text = (
            f"Updated task '{self.label}' from Outlook and flagged it for review: "
            f"{PHRASES[self.reason]}{_adapted(self.adapted)}"
        )
        if self.replaced is not None:
            old = self.replaced
            alarm = "none" if old.alarm_minutes is None else f"{old.alarm_minutes} min"
            text += (
                f"; replaced System Five values: title '{old.title}', "
                f"start {old.start:%Y-%m-%d %H:%M} UTC, end {old.end:%Y-%m-%d %H:%M} UTC, "
                f"alarm {alarm}, notes of {len(old.notes)} characters"
            )
        return text


@dataclass(frozen=True)
class MarkDeletedInOutlook:
    """R7b, R11: the event is gone from Outlook; the link stops and is never recreated."""

    action: ClassVar[Action] = Action.MARK_DELETED_IN_OUTLOOK

    task_id: int | None
    event_id: str
    label: str
    task_hash: str | None = None
    reason: Reason = Reason.DELETED_IN_OUTLOOK
    # The change came from Outlook: the log shows Outlook → System Five (issue 20).
    direction: Direction = field(default=Direction.IMPORT, init=False)

    def describe(self) -> str:
        return (
            f"'{self.label}' was deleted in Outlook: the task is kept and will not be "
            "sent to Outlook again"
        )


@dataclass(frozen=True)
class RemovedMark:
    """R6b: the second category a pushed event gets so that it no longer looks booked.

    `categories` is the event's whole list with `category` added, when the event is in
    the cache; None when it is not (the shell reads the event's list first). Nothing
    else of the event is written, and the category is never taken off again.
    """

    category: str
    categories: tuple[str, ...] | None
    change_key: str | None = None


@dataclass(frozen=True)
class MarkTaskDeleted:
    """R6, R6b, R11b: the task is gone from System Five; the event stays, the link stops.

    With `removed` the event first gets the Removed category (R6b); the link stops only
    once that is written (or the event is gone), so a throttled write is tried again.
    """

    action: ClassVar[Action] = Action.MARK_TASK_DELETED

    task_id: int
    event_id: str | None
    label: str
    event_hash: str | None = None
    change_key: str | None = None
    reason: Reason = Reason.DELETED_IN_SYSTEM_FIVE
    removed: RemovedMark | None = None
    # The change came from System Five (and R6b writes to Outlook): System Five → Outlook.
    direction: Direction = field(default=Direction.PUSH, init=False)

    def describe(self) -> str:
        if self.reason is Reason.OTHER_EMPLOYEE:  # R6b: remapped, or moved to another
            marked = f", marked '{self.removed.category}'," if self.removed is not None else ""
            return (
                f"'{self.label}' is now another employee's task in System Five: its Outlook "
                f"event is kept{marked} and no longer updated"
            )
        if self.removed is not None:
            return (
                f"'{self.label}' was deleted in System Five: its Outlook event is kept, "
                f"marked '{self.removed.category}', and no longer updated"
            )
        return (
            f"'{self.label}' was deleted in System Five: its Outlook event is kept and "
            "will not be imported again"
        )


@dataclass(frozen=True)
class AdoptEvent:
    """R16b: a task's existing event, found by the task identity it carries.

    The link becomes active with the event's hash and changeKey and no task hash, so the
    rest of the cycle sends the task's current values to it (never a second event).
    """

    action: ClassVar[Action] = Action.ADOPT_EVENT

    task_id: int
    event_id: str
    origin: Origin
    label: str
    event_hash: str
    change_key: str
    reason: Reason = Reason.RECOVERED_LINK
    direction: Direction = field(default=Direction.PUSH, init=False)

    def describe(self) -> str:
        return f"Reconnected task '{self.label}' to its existing Outlook event"


@dataclass(frozen=True)
class AdoptTask:
    """R16b: an event's existing task, found by its `external_ref`.

    When the event is in view, the link records both sides as they are now (issue 23:
    a rebuilt mapping changes nothing, so a staff edit made meanwhile survives); a later
    change of both follows R12b. Without it (a pending import row: the task was made
    from the event by a cycle that crashed) there is no event hash, so a tagged event in
    the window refreshes the task (never a second task).
    """

    action: ClassVar[Action] = Action.ADOPT_TASK

    task_id: int
    event_id: str
    label: str
    task_hash: str
    event_hash: str | None = None
    change_key: str | None = None
    reason: Reason = Reason.RECOVERED_LINK
    direction: Direction = field(default=Direction.IMPORT, init=False)

    def describe(self) -> str:
        return f"Reconnected event '{self.label}' to its existing System Five task"


@dataclass(frozen=True)
class Recorded:
    """Hashes a skip stores on its link, so the same change is logged once; None keeps."""

    task_hash: str | None = None
    event_hash: str | None = None
    change_key: str | None = None


@dataclass(frozen=True)
class Skip:
    """R18: nothing written, and why.

    Skips of unlinked items repeat every cycle while the reason holds (a recurring
    tagged event stays recurring): the shell logs a skip when its `key` was not among
    the previous cycle's. Skips that carry `record` store it, so they happen once.
    """

    action: ClassVar[Action] = Action.SKIP

    reason: Reason
    direction: Direction
    label: str
    task_id: int | None = None
    event_id: str | None = None
    detail: str = ""
    record: Recorded | None = None

    @property
    def key(self) -> tuple[Reason, int | None, str | None]:
        return (self.reason, self.task_id, self.event_id)

    def describe(self) -> str:
        if self.reason is Reason.SYNC_UNTICKED and self.event_id is not None:
            # R6: unticking changes nothing on the event; it is no longer updated.
            return (
                f"Sync was unticked on '{self.label}': its Outlook event is kept as it is "
                "and no longer updated"
            )
        if self.reason is Reason.OUTSIDE_WINDOW:
            return f"Not imported yet: '{self.label}': {self.detail or 'it ends too far ahead'}"
        detail = f" ({self.detail})" if self.detail else ""
        return f"Skipped '{self.label}': {PHRASES[self.reason]}{detail}"


Decision = (
    CreateEvent
    | UpdateEvent
    | CreateTask
    | UpdateTask
    | MarkDeletedInOutlook
    | MarkTaskDeleted
    | AdoptEvent
    | AdoptTask
    | Skip
)
WRITES = (CreateEvent, UpdateEvent, CreateTask, UpdateTask)


def writes(decisions: list[Decision]) -> list[Decision]:
    """The decisions that write to Outlook or System Five (R17: none on an idle cycle)."""
    return [
        decision
        for decision in decisions
        if isinstance(decision, WRITES)
        or (isinstance(decision, MarkTaskDeleted) and decision.removed is not None)
    ]
