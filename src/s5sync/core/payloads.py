"""What s5sync writes on each side, built from the other side (R4, R5, R9, R12, R12c, R23).

- `event_payload`: a task as the owned fields of its Outlook event (R4, R5), keeping the
  sync tag a user put on the event's subject (R12).
- `import_draft`: an event as the owned fields of a System Five task (R9, R10), with the
  maps block stripped (R12), all-day events spanning whole store days (R12c), and values
  System Five cannot hold adapted (R23): a title over 100 characters is cut with "…",
  notes over 4000 with "…[cut by s5sync]", a subject that is empty or only the tag
  becomes "(no title)" (the task is still created: the user asked for it by tagging);
  an event with no start or end, or ending before it starts, is unusable (BAD_TIME).
- the hidden identity a pushed event carries (R16b): `task_ref(task_id)`.
- `removed_mark`: the second category of an event whose task is gone (R6b).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from s5sync.core.characters import printable
from s5sync.core.decisions import EventPayload, RemovedMark
from s5sync.core.eventbody import UserText, body_html, imported_notes, user_text
from s5sync.core.hashing import body_text, event_hash
from s5sync.core.mapslink import task_location, task_maps_url
from s5sync.core.reasons import Reason
from s5sync.core.snapshots import (
    EventSnapshot,
    Link,
    Origin,
    StoreOptions,
    TaskDraft,
    TaskKind,
    TaskSnapshot,
)
from s5sync.core.tag import keep_tag, remove_tag
from s5sync.core.timezones import UnknownTimeZone, all_day_span, utc_to_wall

TITLE_LIMIT = 100
NOTES_LIMIT = 4000
TITLE_CUT = "…"
NOTES_CUT = "\n…[cut by s5sync]"
NO_TITLE = "(no title)"
TASK_REF_PREFIX = "s5sync-task:"


def task_ref(task_id: int) -> str:
    """R16b: the value of the extended property a pushed event carries."""
    return f"{TASK_REF_PREFIX}{task_id}"


def parse_task_ref(value: str | None) -> int | None:
    """R16b: the task id in an extended property value, or None when it names none."""
    if value is None or not value.startswith(TASK_REF_PREFIX):
        return None
    digits = value[len(TASK_REF_PREFIX) :]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def event_payload(
    task: TaskSnapshot, previous: EventSnapshot | None, options: StoreOptions, *, new: bool
) -> EventPayload:
    """R4, R5, R12: the owned fields of the task's event.

    `previous` is the event as cached (None when new or beyond the cache window): its
    tag is kept in the subject and its own categories are kept beside s5sync's (R3).
    """
    # R23: control characters never reach Exchange (XML cannot carry them).
    title = printable(task.title, lines=False).strip() or NO_TITLE
    notes, url = printable(task.notes, lines=True), task_maps_url(task)
    subject = keep_tag(title, None if previous is None else previous.subject, options.sync_tag)
    if previous is not None:
        kept = previous.categories
        categories: tuple[str, ...] | None = (
            kept if options.category_name in kept else (*kept, options.category_name)
        )
    else:
        categories = (options.category_name,) if new else None
    return EventPayload(
        subject=subject,
        # R5b: the user's text around s5sync's block of the body is kept.
        body_html=body_html(notes, url, user_text(body_text(previous)) if previous else UserText()),
        notes=notes,
        maps_url=url,
        start=task.start,
        end=task.end,
        reminder_minutes=task.alarm_minutes,
        category=options.category_name,
        categories=categories,
        task_ref=task_ref(task.id),
        location=task_location(task) if new else None,
    )


def overwritten(
    event: EventSnapshot, payload: EventPayload, options: StoreOptions
) -> tuple[str, ...]:
    """R5b: the owned values Outlook showed that an update replaces, in store time, for
    the activity log — asked only when the event was edited in Outlook since s5sync's
    last write (so they are what the user typed there, or the task's old values)."""
    replaced: list[str] = []
    tag = options.sync_tag
    old_subject = remove_tag(event.subject or "", tag).strip()
    if old_subject != remove_tag(payload.subject, tag).strip():
        replaced.append(f"title '{old_subject}'")
    if (event.start, event.end) != (payload.start, payload.end) and event.start and event.end:
        try:
            start = utc_to_wall(event.start, options.time_zone)
            end = utc_to_wall(event.end, options.time_zone)
        except UnknownTimeZone:
            start, end = event.start, event.end
        same_day = start.date() == end.date()
        replaced.append(
            f"time {start:%a %d %b %H:%M}–{end:%H:%M}"
            if same_day
            else f"time {start:%a %d %b %H:%M}–{end:%a %d %b %H:%M}"
        )
    if event.reminder_minutes != payload.reminder_minutes:
        minutes = event.reminder_minutes
        replaced.append("no reminder" if minutes is None else f"reminder {minutes} min before")
    return tuple(replaced)


def removed_mark(
    link: Link, event: EventSnapshot | None, options: StoreOptions
) -> RemovedMark | None:
    """R6b: the Removed category for the event of a task that is gone, or None.

    Only events s5sync pushed are marked (its origin, or its category on the event: an
    imported task turned into a synced one, R12d); an event that has it already is left
    alone (added once, never taken off). `event` None: beyond the cache — the shell reads
    the event's categories first.
    """
    if not options.removed_category:
        return None
    name = options.removed_category_name
    if event is None:
        return RemovedMark(name, None) if link.origin is Origin.S5 else None
    ours = options.category_name.casefold()
    if link.origin is not Origin.S5 and all(c.casefold() != ours for c in event.categories):
        return None
    if any(c.casefold() == name.casefold() for c in event.categories):
        return None
    return RemovedMark(name, (*event.categories, name), event.change_key or None)


def predicted_event_hash(payload: EventPayload) -> str:
    """The hash the event should have once written (the server's copy is what counts)."""
    return event_hash(
        EventSnapshot(
            id="",
            subject=payload.subject,
            body=payload.body_html,
            body_is_html=True,
            start=payload.start,
            end=payload.end,
            reminder_minutes=payload.reminder_minutes,
            is_all_day=payload.is_all_day,
        )
    )


@dataclass(frozen=True)
class ImportDraft:
    """An event's values for System Five, and the R23 adaptations made to them."""

    draft: TaskDraft
    adapted: tuple[Reason, ...]


def import_draft(event: EventSnapshot, options: StoreOptions) -> ImportDraft | str:
    """R9, R12, R12c, R23: the task values for an event, or why its times are unusable."""
    if event.start is None or event.end is None:
        return "no start or end time"
    start, end = event.start, event.end
    notes_adapted: list[str] = []
    if event.is_all_day:
        try:
            first, after = all_day_span(start.date(), end.date(), options.time_zone)
        except UnknownTimeZone as error:
            return str(error)
        start, end = first.utc, after.utc
        notes_adapted += [note for note in (first.note, after.note) if note]
    if end < start:
        return "ends before it starts"
    adapted: list[Reason] = []
    raw_title = remove_tag(event.subject or "", options.sync_tag)
    raw_notes = body_text(event)
    title = printable(raw_title, lines=False).strip()
    notes = imported_notes(printable(raw_notes, lines=True))  # R12: no block, no sentinels
    if (
        printable(raw_title, lines=True) != raw_title
        or printable(raw_notes, lines=True) != raw_notes
    ):
        adapted.append(Reason.CONTROL_CHARACTERS)
        notes_adapted.append("control characters removed")
    if not title:
        title = NO_TITLE
        adapted.append(Reason.NO_TITLE)
        notes_adapted.append("no title: named (no title)")
    if len(title) > TITLE_LIMIT:
        title = title[: TITLE_LIMIT - len(TITLE_CUT)] + TITLE_CUT
        adapted.append(Reason.ADAPTED_TOO_LONG)
        notes_adapted.append(f"title cut to {TITLE_LIMIT} characters")
    if len(notes) > NOTES_LIMIT:
        notes = notes[: NOTES_LIMIT - len(NOTES_CUT)] + NOTES_CUT
        if Reason.ADAPTED_TOO_LONG not in adapted:
            adapted.append(Reason.ADAPTED_TOO_LONG)
        notes_adapted.append(f"notes cut to {NOTES_LIMIT} characters")
    alarm = event.reminder_minutes
    if alarm is not None and alarm < 0:
        alarm = None
        adapted.append(Reason.NO_ALARM)
        notes_adapted.append("a negative reminder cannot be an alarm: no alarm")
    draft = TaskDraft(
        title=title,
        notes=notes,
        # System Five keeps whole seconds.
        start=start.replace(microsecond=0),
        end=end.replace(microsecond=0),
        alarm_minutes=alarm,
        adaptations=tuple(notes_adapted),
    )
    return ImportDraft(draft, tuple(adapted))


def drafted_task(task: TaskSnapshot, draft: TaskDraft) -> TaskSnapshot:
    """The task as it will read after `draft` is written to it."""
    return replace(
        task,
        title=draft.title,
        notes=draft.notes,
        start=draft.start,
        end=draft.end,
        alarm_minutes=draft.alarm_minutes,
        needs_review=True,
    )


def imported_task(draft: TaskDraft, employee_id: int, event_id: str) -> TaskSnapshot:
    """R9: the task an imported event becomes (kind Outlook, Sync unticked, review)."""
    return TaskSnapshot(
        id=0,
        employee_id=employee_id,
        kind=TaskKind.OUTLOOK,
        title=draft.title,
        notes=draft.notes,
        start=draft.start,
        end=draft.end,
        alarm_minutes=draft.alarm_minutes,
        sync=False,
        needs_review=True,
        external_ref=event_id,
        updated_at="",
    )


def draft_of(task: TaskSnapshot) -> TaskDraft:
    """A task's current owned values, kept when Outlook replaces them (R12b)."""
    return TaskDraft(task.title, task.notes, task.start, task.end, task.alarm_minutes)
