"""Graph's event JSON ↔ our snapshots, in this one place (R23; DESIGN.md "Outlook connector").

Reading: pydantic models of the `event` resource (learn.microsoft.com/graph/api/resources/
event). Unknown fields are ignored; a field that is malformed is dropped and reported as a
problem (one short sentence), and the rest of the item is still used — bad input never
stops a cycle (R23). A delta item may carry only some fields, so `event_fields` returns
only the fields the item had, under EventSnapshot's names.

Writing: `event_body` renders an `EventWrite` as the JSON of a create or of a PATCH of the
owned fields (R5), times as UTC wall times with `timeZone: "UTC"`; the task identity
travels in a `singleValueExtendedProperty` whose id names a fixed GUID namespace (R16b).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tzlocal.windows_tz import win_tz

from s5sync.core.characters import without_surrogates
from s5sync.core.snapshots import EventSnapshot, EventType
from s5sync.sync.ports import CategoriesWrite, EventChange, EventWrite

# R16b: the extended property holding the task identity. The GUID is s5sync's own
# namespace, fixed forever: events pushed by earlier versions must stay findable.
TASK_PROPERTY_ID = "String {8e3c4c62-5a5b-4c1e-9b2f-6f1d2e7a5c31} Name s5sync.task"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class DateTimeTimeZone(_Lenient):
    date_time: str = Field(alias="dateTime")
    time_zone: str = Field(alias="timeZone")


class ItemBody(_Lenient):
    content_type: str = Field(default="text", alias="contentType")
    content: str = ""


class ExtendedProperty(_Lenient):
    id: str
    value: str | None = None


class RemovedMarker(_Lenient):
    reason: str = "deleted"


class GraphEvent(_Lenient):
    """The fields of Graph's `event` that s5sync reads; every one may be absent."""

    id: str
    removed: RemovedMarker | None = Field(default=None, alias="@removed")
    subject: str | None = None
    body: ItemBody | None = None
    start: DateTimeTimeZone | None = None
    end: DateTimeTimeZone | None = None
    is_all_day: bool | None = Field(default=None, alias="isAllDay")
    is_reminder_on: bool | None = Field(default=None, alias="isReminderOn")
    reminder_minutes: int | None = Field(default=None, alias="reminderMinutesBeforeStart")
    categories: list[str] | None = None
    type: EventType | None = None
    is_cancelled: bool | None = Field(default=None, alias="isCancelled")
    change_key: str | None = Field(default=None, alias="changeKey")
    transaction_id: str | None = Field(default=None, alias="transactionId")
    extended: list[ExtendedProperty] | None = Field(
        default=None, alias="singleValueExtendedProperties"
    )


class Malformed(Exception):
    """An item without a usable `id`: it cannot be placed anywhere (R23)."""


def _encodable(value: Any) -> Any:
    """R23: JSON may carry a lone surrogate (`\\ud800`), which no encoder writes (hashes,
    databases): every string of the item gets U+FFFD in its place."""
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


def parse_event(raw: object) -> tuple[GraphEvent, tuple[str, ...]]:
    """Validate one event, dropping each malformed field with a problem sentence."""
    raw = _encodable(raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise Malformed("an event without an id was skipped")
    data: dict[str, Any] = dict(raw)
    problems: list[str] = []
    for _ in range(len(data)):
        try:
            return GraphEvent.model_validate(data), tuple(problems)
        except ValidationError as error:
            bad = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
            bad.discard("id")
            if not bad:
                break
            for key in sorted(bad):
                problems.append(f"event field {key!r} is malformed and was ignored")
                data.pop(key, None)
    raise Malformed("an event could not be read at all and was skipped")


def graph_time(value: DateTimeTimeZone) -> datetime:
    """A Graph dateTimeTimeZone as an aware UTC datetime (7 fractional digits accepted)."""
    text = value.date_time.strip().removesuffix("Z")
    head, _, fraction = text.partition(".")
    moment = datetime.fromisoformat(head)
    if fraction:
        moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(value.time_zone))
    return moment.astimezone(UTC)


def _zone(name: str) -> tzinfo:
    if name in ("UTC", "tzone://Microsoft/Utc", "Etc/UTC", "GMT", ""):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    if name in win_tz:  # Windows zone names (graph.md §7)
        return ZoneInfo(win_tz[name])
    raise ValueError(f"unknown time zone {name!r}")


def event_fields(event: GraphEvent, problems: tuple[str, ...] = ()) -> EventChange:
    """The fields the item carried, under EventSnapshot's names (partial items stay partial)."""
    present = event.model_fields_set
    fields: dict[str, object] = {}
    notes = list(problems)
    if "subject" in present:
        fields["subject"] = event.subject
    if "body" in present:
        body = event.body or ItemBody()
        fields["body"] = body.content
        fields["body_is_html"] = body.content_type.lower() == "html"
    for name in ("start", "end"):
        if name in present:
            value = getattr(event, name)
            try:
                fields[name] = graph_time(value) if value is not None else None
            except ValueError as error:
                fields[name] = None
                notes.append(f"event {name} could not be read: {error}")
    if "is_all_day" in present and event.is_all_day is not None:
        fields["is_all_day"] = event.is_all_day
    if "is_reminder_on" in present or "reminder_minutes" in present:
        on = event.is_reminder_on if "is_reminder_on" in present else True
        fields["reminder_minutes"] = event.reminder_minutes if on else None
    if "categories" in present:
        fields["categories"] = tuple(event.categories or ())
    if "type" in present and event.type is not None:
        fields["type"] = event.type
    if "is_cancelled" in present and event.is_cancelled is not None:
        fields["is_cancelled"] = event.is_cancelled
    if "change_key" in present and event.change_key is not None:
        fields["change_key"] = event.change_key
    if "transaction_id" in present:
        fields["transaction_id"] = event.transaction_id
    if "extended" in present:
        fields["task_ref"] = task_ref_of(event)
    return EventChange(event_id=event.id, fields=fields, problems=tuple(notes))


def task_ref_of(event: GraphEvent) -> str | None:
    for prop in event.extended or ():
        if prop.id.casefold() == TASK_PROPERTY_ID.casefold():
            return prop.value
    return None


def snapshot(change: EventChange) -> EventSnapshot:
    """A whole event from the fields one full read carried; missing ones take defaults."""
    f = change.fields

    def text(name: str) -> str | None:
        value = f.get(name)
        return value if isinstance(value, str) else None

    def when(name: str) -> datetime | None:
        value = f.get(name)
        return value if isinstance(value, datetime) else None

    categories = f.get("categories", ())
    reminder = f.get("reminder_minutes")
    kind = f.get("type", EventType.SINGLE_INSTANCE)
    return EventSnapshot(
        id=change.event_id,
        subject=text("subject"),
        body=text("body") or "",
        start=when("start"),
        end=when("end"),
        is_all_day=f.get("is_all_day") is True,
        reminder_minutes=reminder if isinstance(reminder, int) else None,
        categories=tuple(c for c in categories if isinstance(c, str))
        if isinstance(categories, tuple)
        else (),
        type=kind if isinstance(kind, EventType) else EventType.SINGLE_INSTANCE,
        is_cancelled=f.get("is_cancelled") is True,
        change_key=text("change_key") or "",
        task_ref=text("task_ref"),
        transaction_id=text("transaction_id"),
        body_is_html=f.get("body_is_html") is True,
    )


def read_snapshot(raw: object) -> tuple[EventSnapshot, tuple[str, ...]]:
    """One full event answer (GET, POST, PATCH) as a snapshot and its problems."""
    event, problems = parse_event(raw)
    change = event_fields(event, problems)
    return snapshot(change), change.problems


def _wire_time(moment: datetime) -> dict[str, str]:
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}


def event_body(write: EventWrite, *, create: bool) -> dict[str, Any]:
    """The JSON of a create, or of a PATCH of the owned fields only (R5)."""
    body: dict[str, Any] = {
        "subject": write.subject,
        "body": {"contentType": "HTML", "content": write.body_html},
        "start": _wire_time(write.start),
        "end": _wire_time(write.end),
        # Sent always: a pushed event the user made all-day must take our times (R5).
        "isAllDay": write.is_all_day,
        "isReminderOn": write.reminder_minutes is not None,
        "categories": list(write.categories),
    }
    if write.reminder_minutes is not None:
        body["reminderMinutesBeforeStart"] = write.reminder_minutes
    if create and write.transaction_id:
        body["transactionId"] = write.transaction_id
    if create and write.location:
        # R4b: the address on the first send; after that the location is the user's (R5).
        body["location"] = {"displayName": write.location}
    if write.task_ref:
        # R16b: on creates, and on updates too (an adopted event may lack it).
        body["singleValueExtendedProperties"] = [{"id": TASK_PROPERTY_ID, "value": write.task_ref}]
    return body


def patch_body(write: EventWrite | CategoriesWrite) -> dict[str, Any]:
    """The JSON of a PATCH: the owned fields (R5), or the categories alone (R6b)."""
    if isinstance(write, CategoriesWrite):
        return {"categories": list(write.categories)}
    return event_body(write, create=False)


def odata_quote(value: str) -> str:
    """A string literal for an OData $filter: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def task_filter(task_ref: str) -> str:
    """R16b: the $filter finding events by their task identity (graph.md §4)."""
    return (
        f"singleValueExtendedProperties/Any(ep: ep/id eq {odata_quote(TASK_PROPERTY_ID)}"
        f" and ep/value eq {odata_quote(task_ref)})"
    )


TASK_EXPAND = f"singleValueExtendedProperties($filter=id eq {odata_quote(TASK_PROPERTY_ID)})"
