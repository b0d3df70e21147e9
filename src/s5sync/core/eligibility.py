"""Which tasks may be pushed and which events imported, and when a side changed.

R1: a task is pushed when it is a Customer or Delivery task of the user's employee with
Sync ticked; R2: only while its start is later than `now`. R8: an event is imported
when it is a single instance, not cancelled (R12c), its times usable (R23), its start
later than `now` and its end at most the import window after `now` — both edges exact:
an event starting at `now` is not imported, one ending at `now + window` is.
DESIGN.md "Change detection": an event changed when its changeKey *and* its owned-field
hash differ from the link's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from s5sync.core.characters import printable
from s5sync.core.decisions import Skip
from s5sync.core.hashing import event_hash
from s5sync.core.payloads import ImportDraft, import_draft
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import (
    EventSnapshot,
    EventType,
    Link,
    StoreOptions,
    TaskKind,
    TaskSnapshot,
)
from s5sync.core.timezones import UnknownTimeZone, utc_to_wall

PUSHED_KINDS = frozenset({TaskKind.CUSTOMER, TaskKind.DELIVERY})


def event_label(event: EventSnapshot) -> str:
    """The event as the activity log names it (no control characters, R23)."""
    return printable(event.subject or "", lines=False).strip() or "(no subject)"


def task_label(task: TaskSnapshot) -> str:
    """The task as the activity log names it (no control characters, R23)."""
    return printable(task.title, lines=False).strip() or "(no title)"


def push_blocker(task: TaskSnapshot, employee_id: int) -> Reason | None:
    """R1, R6: why the task is not one to push, or None when it is."""
    if task.employee_id != employee_id:
        return Reason.OTHER_EMPLOYEE
    if task.kind not in PUSHED_KINDS:
        return Reason.NOT_SYNCABLE_KIND
    if not task.sync:
        return Reason.SYNC_UNTICKED
    return None


def event_changed(event: EventSnapshot, link: Link) -> bool:
    """DESIGN.md "Change detection": changeKey and owned-field hash both differ."""
    return event.change_key != link.change_key and event_hash(event) != link.event_hash


def importable(event: EventSnapshot, options: StoreOptions, now: datetime) -> ImportDraft | Skip:
    """R8, R12c, R23: the task values for an event, or the skip saying why not now."""
    label = event_label(event)

    def skip(reason: Reason, detail: str = "") -> Skip:
        return Skip(reason, Direction.IMPORT, label, event_id=event.id, detail=detail)

    if event.is_cancelled:
        return skip(Reason.CANCELLED)
    if event.type is not EventType.SINGLE_INSTANCE:
        return skip(Reason.RECURRING)
    drafted = import_draft(event, options)
    if isinstance(drafted, str):
        return skip(Reason.BAD_TIME, drafted)
    if drafted.draft.start <= now:
        return skip(Reason.START_PASSED, f"it started {store_time(drafted.draft.start, options)}")
    if drafted.draft.end > now + timedelta(days=options.import_window_days):
        # Issue 20: said once, with when it will be imported (R8: as time passes).
        return skip(
            Reason.OUTSIDE_WINDOW,
            f"it ends {store_time(drafted.draft.end, options)}; it will be imported when it "
            f"is within {options.import_window_days} days",
        )
    return drafted


def store_time(moment: datetime, options: StoreOptions) -> str:
    """A moment as staff read it: the store's wall clock, no zone name ("Thu 26 Nov 10:00")."""
    try:
        return f"{utc_to_wall(moment, options.time_zone):%a %d %b %H:%M}"
    except UnknownTimeZone:
        return f"{moment:%a %d %b %H:%M}"
