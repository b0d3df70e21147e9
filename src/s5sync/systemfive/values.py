"""The values System Five can hold, and the conversions to and from them (R9, R10, R23).

System Five keeps wall-clock text in the store's zone, titles of at most 100 and notes of
at most 4000 characters. Values it cannot hold are adapted, never rejected silently:
control characters are removed (core.characters), too-long text is cut with a visible
marker, an end before the start is moved to the start, a wall time in a DST gap moves
forward and one in a fold is read as the first occurrence (core.timezones). Every
adaptation is a sentence returned with the values, so the activity log can say what
happened (R23). Shared by the SQL adapter and the fake so that both adapt identically.

`updated_at` written by s5sync is UTC with microseconds (`2026-11-25T19:30:00.123456Z`):
two saves within one second still differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from s5sync.core.characters import printable
from s5sync.core.snapshots import Address, TaskDraft, TaskKind, TaskSnapshot
from s5sync.core.timezones import utc_to_wall, wall_to_utc
from s5sync.systemfive.columns import Columns
from s5sync.systemfive.errors import UnreadableTask

TITLE_MAX = 100
NOTES_MAX = 4000
CUT_MARKER = "… [cut by s5sync]"
NO_TITLE = "(no title)"
WALL_FORMAT = "%Y-%m-%dT%H:%M:%S"
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code", "country")


@dataclass(frozen=True)
class TaskValues:
    """A draft as System Five holds it: wall-clock text, cut text, and what was adapted."""

    title: str
    notes: str
    starts_at: str
    ends_at: str
    alarm_minutes: int | None
    adaptations: tuple[str, ...]


def cut(text: str, limit: int, what: str) -> tuple[str, str | None]:
    """`text` cut to `limit` characters with a visible marker, and a note when it was cut."""
    if len(text) <= limit:
        return text, None
    kept = text[: limit - len(CUT_MARKER)].rstrip() + CUT_MARKER
    return kept, f"{what} cut from {len(text)} to {limit} characters (System Five's limit)"


def wall_text(instant: datetime, zone_name: str, what: str) -> tuple[str, str | None]:
    """The wall-clock text of an aware instant, and a note when System Five cannot keep it.

    A naive instant is taken as UTC. In a fall-back fold the second occurrence is stored as
    its wall time, which reads back as the first occurrence: that is reported.
    """
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    wall = utc_to_wall(aware, zone_name).replace(microsecond=0)
    back = wall_to_utc(wall, zone_name).utc
    text = wall.strftime(WALL_FORMAT)
    if back != aware.astimezone(UTC).replace(microsecond=0):
        return text, (
            f"{what} {wall:%Y-%m-%d %H:%M} happens twice in {zone_name} (clocks go back); "
            "System Five keeps wall time only, so it reads as the first"
        )
    return text, None


def fit(draft: TaskDraft, zone_name: str) -> TaskValues:
    """Adapt a draft to what System Five can hold, saying what was adapted (R23)."""
    notes: list[str] = []
    # R23: NUL, control characters and lone surrogates cannot be stored (PostgreSQL
    # refuses NUL; no driver encodes a lone surrogate).
    title = printable(draft.title, lines=False)
    body = printable(draft.notes, lines=True)
    if (title, body) != (draft.title, draft.notes):
        notes.append("control characters removed")
    if not title.strip():
        title = NO_TITLE
        notes.append(f"no title: saved as {NO_TITLE!r}")
    title, note = cut(title, TITLE_MAX, "title")
    notes += [note] if note else []
    body, note = cut(body, NOTES_MAX, "notes")
    notes += [note] if note else []
    start, end = draft.start, draft.end
    if end < start:
        notes.append("the end was before the start: end set to the start")
        end = start
    starts_at, note = wall_text(start, zone_name, "start")
    notes += [note] if note else []
    ends_at, note = wall_text(end, zone_name, "end")
    notes += [note] if note else []
    alarm = draft.alarm_minutes
    if alarm is not None and alarm < 0:
        notes.append(f"alarm of {alarm} minutes is not possible: no alarm")
        alarm = None
    return TaskValues(title, body, starts_at, ends_at, alarm, tuple(notes))


def stamp(now: datetime, previous: str | None = None) -> str:
    """A new `updated_at` (UTC, microseconds), always after `previous` when it is one of ours.

    Strictly increasing even when the clock stands still or steps back, so an optimistic
    writer holding an older value can never match a newer save.
    """
    instant = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    if previous:
        try:
            before = datetime.strptime(previous, STAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            before = None  # written by another tool in another format
        if before is not None and instant <= before:
            instant = before + timedelta(microseconds=1)
    text = instant.strftime(STAMP_FORMAT)
    if text == previous:
        text = (instant + timedelta(microseconds=1)).strftime(STAMP_FORMAT)
    return text


# Graph's reminderMinutesBeforeStart is an Edm.Int32: a larger alarm is refused (400) on
# every cycle, so it is read as no reminder, said once with the write (R23).
ALARM_MAX = 2**31 - 1


def _wall(columns: Columns, name: str, zone_name: str, what: str) -> tuple[datetime, str | None]:
    wall = columns.wall_time(name, what)
    try:
        converted = wall_to_utc(wall, zone_name)
    except (OverflowError, ValueError):
        raise columns.unreadable(f"{what} {wall:%Y-%m-%d %H:%M} cannot be a time in UTC") from None
    return converted.utc, converted.note and f"{what}: {converted.note}"


def _alarm(columns: Columns) -> int | None:
    """R23: an alarm Outlook cannot keep (not a number, negative, beyond Int32) reads as
    no reminder, with the reason."""
    try:
        alarm = columns.optional_integer("alarm_minutes", "alarm")
    except UnreadableTask as error:
        columns.notes.append(f"{str(error).partition(': ')[2]}: no reminder")
        return None
    if alarm is not None and alarm < 0:
        # Graph refuses a negative reminder (400); another tool may have written one.
        columns.notes.append(f"alarm of {alarm} minutes is not possible: no reminder")
        return None
    if alarm is not None and alarm > ALARM_MAX:
        columns.notes.append(f"alarm of {alarm} minutes is more than Outlook keeps: no reminder")
        return None
    return alarm


def _address(columns: Columns, prefix: str, kind: str) -> Address | None:
    address_id = columns.optional_integer(f"{prefix}_id", f"{kind} address id")
    if address_id is None:
        return None
    fields = {
        name: columns.text(f"{prefix}_{name}", f"{kind} address {name}") for name in ADDRESS_FIELDS
    }
    return Address(id=address_id, kind=kind, **fields)


def snapshot_or_unreadable(row: Mapping[str, Any], zone_name: str) -> TaskSnapshot | None:
    """`snapshot`, or — for a row whose times, kind or flags cannot be read — a snapshot
    saying why (`unreadable`), with placeholder times and kind. R23: such a row is neither
    synced nor taken as deleted (R6, R11b would stop its link for good). None for a row
    whose very id is not a number (no task can be named by it)."""
    try:
        return snapshot(row, zone_name)
    except UnreadableTask as error:
        columns = Columns(row, row["id"])
        try:
            task_id = columns.integer("id", "id")
        except UnreadableTask:
            return None
        try:
            employee_id = columns.integer("employee_id", "employee")
        except UnreadableTask:
            employee_id = -1  # nobody's: never a push candidate (R1)
        placeholder = datetime(1970, 1, 1, tzinfo=UTC)
        # Sync as far as it can be read: a ticked task is skipped with the reason (R18).
        sync = columns.optional_integer_or_none("sync") == 1
        return TaskSnapshot(
            id=task_id,
            employee_id=employee_id,
            kind=TaskKind.INTERNAL,
            title=columns.text("title", "title"),
            notes=columns.text("notes", "notes"),
            start=placeholder,
            end=placeholder,
            alarm_minutes=None,
            sync=sync,
            needs_review=False,
            external_ref=columns.optional_text("external_ref", "external_ref"),
            updated_at=columns.text("updated_at", "updated_at"),
            unreadable=str(error).partition(": ")[2] or str(error),
        )


def snapshot(
    row: Mapping[str, Any], zone_name: str, adaptations: tuple[str, ...] = ()
) -> TaskSnapshot:
    """A TaskSnapshot from a task row (statements._TASK_COLUMNS), times converted to UTC.

    Every column is read defensively (`columns`, R23). `time_notes` carries what a write
    adapted (`adaptations`), then what this read adapted (DST, bytes, a bad alarm…).
    """
    columns = Columns(row, row["id"])
    task_id = columns.integer("id", "id")
    columns.task_id = task_id
    start, start_note = _wall(columns, "starts_at", zone_name, "start")
    end, end_note = _wall(columns, "ends_at", zone_name, "end")
    kind_text = columns.text("kind", "kind")
    try:
        kind = TaskKind(kind_text)
    except ValueError:
        raise columns.unreadable(f"unknown kind {kind_text!r}") from None
    task = TaskSnapshot(
        id=task_id,
        employee_id=columns.integer("employee_id", "employee"),
        kind=kind,
        title=columns.text("title", "title"),
        notes=columns.text("notes", "notes"),
        start=start,
        end=end,
        alarm_minutes=_alarm(columns),
        sync=columns.flag("sync", "sync"),
        needs_review=columns.flag("needs_review", "needs_review"),
        external_ref=columns.optional_text("external_ref", "external_ref"),
        updated_at=columns.text("updated_at", "updated_at"),
        customer_name=columns.optional_text("customer_name", "customer name"),
        bill_to=_address(columns, "bill", "bill_to"),
        ship_to=_address(columns, "ship", "ship_to"),
    )
    time_notes = (*adaptations, *(n for n in (start_note, end_note) if n), *columns.notes)
    return replace(task, time_notes=tuple(time_notes)) if time_notes else task
