"""Why a decision was taken, in the words the activity log stores and the dashboard says
(R18): `Reason` and its `PHRASES`, the stored `Action` of each kind of decision, and the
`Direction` it writes (R15, R17b). The values are stored: renaming a member's name or a
decision class does not change them."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a decision was taken (R18); the activity log stores the value."""

    # Actions
    NEW_SYNCED_TASK = "new_synced_task"  # R1
    TASK_CHANGED = "task_changed"  # R5
    IMPORTED_TASK_NOW_SYNCED = "imported_task_now_synced"  # R12d
    NEW_TAGGED_EVENT = "new_tagged_event"  # R8, R9
    EVENT_CHANGED = "event_changed"  # R10
    TAG_ADDED_TO_PUSHED_EVENT = "tag_added_to_pushed_event"  # R12
    CONFLICT_OUTLOOK_WINS = "conflict_outlook_wins"  # R12b
    RECOVERED_LINK = "recovered_link"  # R16b
    DELETED_IN_OUTLOOK = "deleted_in_outlook"  # R7b, R11
    DELETED_IN_SYSTEM_FIVE = "deleted_in_system_five"  # R6, R11b
    RESYNC_REPAIRED = "resync_repaired"  # R14c: the event differed from its task
    RESYNC_RESTORED = "resync_restored"  # R14c, R6b: the task is this employee's again
    # Skips
    START_PASSED = "start_passed"  # R2, R8
    NOT_SYNCABLE_KIND = "not_syncable_kind"  # R1
    SYNC_UNTICKED = "sync_unticked"  # R6
    OTHER_EMPLOYEE = "other_employee"  # R1
    RECURRING = "recurring"  # R8
    OUTSIDE_WINDOW = "outside_window"  # R8
    CANCELLED = "cancelled"  # R12c
    NO_TAG = "no_tag"  # R7, R10
    BAD_TIME = "bad_time"  # R23
    # Adaptations (R23), listed in `adapted`
    ADAPTED_TOO_LONG = "adapted_too_long"
    NO_TITLE = "no_title"
    CONTROL_CHARACTERS = "control_characters"
    NO_ALARM = "no_alarm"


PHRASES: dict[Reason, str] = {
    Reason.NEW_SYNCED_TASK: "a Customer or Delivery task with Sync ticked",
    Reason.TASK_CHANGED: "the task changed in System Five",
    Reason.IMPORTED_TASK_NOW_SYNCED: "the imported task became a synced task",
    Reason.NEW_TAGGED_EVENT: "the event carries the sync tag",
    Reason.EVENT_CHANGED: "the event changed in Outlook",
    Reason.TAG_ADDED_TO_PUSHED_EVENT: "the sync tag was added to the pushed event",
    Reason.CONFLICT_OUTLOOK_WINS: "both sides changed; Outlook wins",
    Reason.RECOVERED_LINK: "found by the identity it carries",
    Reason.DELETED_IN_OUTLOOK: "the event was deleted in Outlook",
    Reason.DELETED_IN_SYSTEM_FIVE: "the task was deleted in System Five",
    Reason.RESYNC_REPAIRED: "a repair found that the event no longer matched the task",
    Reason.RESYNC_RESTORED: (
        "a repair found the task is yours again, so its event is updated again and no "
        "longer marked removed"
    ),
    Reason.START_PASSED: "start has passed",
    Reason.NOT_SYNCABLE_KIND: "not a Customer or Delivery task",
    Reason.SYNC_UNTICKED: "Sync is unticked",
    Reason.OTHER_EMPLOYEE: "the task belongs to another employee",
    Reason.RECURRING: "it repeats, and only single events become System Five tasks",
    Reason.OUTSIDE_WINDOW: "not yet",
    Reason.CANCELLED: "cancelled event",
    Reason.NO_TAG: "Outlook edits are not sent back without the sync tag",
    Reason.BAD_TIME: "its times cannot be used",
    Reason.ADAPTED_TOO_LONG: "text cut to fit System Five",
    Reason.NO_TITLE: "no title, named (no title)",
    Reason.CONTROL_CHARACTERS: "control characters removed",
    Reason.NO_ALARM: "a negative reminder cannot be an alarm: no alarm",
}


class Action(StrEnum):
    """What an activity row says was done (R18), one per kind of decision. These values
    are stored: renaming a decision class does not change them."""

    CREATE_EVENT = "create_event"
    UPDATE_EVENT = "update_event"
    CREATE_TASK = "create_task"
    UPDATE_TASK = "update_task"
    MARK_DELETED_IN_OUTLOOK = "mark_deleted_in_outlook"
    MARK_TASK_DELETED = "mark_task_deleted"
    ADOPT_EVENT = "adopt_event"
    ADOPT_TASK = "adopt_task"
    SKIP = "skip"


class Direction(StrEnum):
    """Which way a decision writes (R15: push first, then import; R17b)."""

    PUSH = "push"
    IMPORT = "import"
