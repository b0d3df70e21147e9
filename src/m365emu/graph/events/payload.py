"""Request bodies of POST and PATCH /me/events, read into a typed change set
(resources/event.md; event-update.md's list of updatable properties).

Unknown properties are refused with the OData message Graph uses; `@odata.*` annotations
(the SDK sends `@odata.type`) and the event's read-only properties (event-update.md's
example sends `originalStartTimeZone` and `responseStatus`) are accepted and ignored.
Values of the wrong JSON type are refused with 400, never a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from m365emu.graph.common.errors import bad_request, unknown_property, wrong_type
from m365emu.graph.events import timezones
from m365emu.graph.events.errors import invalid_extended_property

WRITABLE = {
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "categories",
    "showAs",
    "importance",
    "sensitivity",
    "location",
    "locations",
    "attendees",
    "recurrence",
    "transactionId",
    "singleValueExtendedProperties",
    "hideAttendees",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "responseRequested",
    "allowNewTimeProposals",
}
READ_ONLY = {
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "bodyPreview",
    "hasAttachments",
    "iCalUId",
    "isCancelled",
    "isDraft",
    "isOrganizer",
    "onlineMeeting",
    "onlineMeetingUrl",
    "organizer",
    "originalEndTimeZone",
    "originalStart",
    "originalStartTimeZone",
    "responseStatus",
    "seriesMasterId",
    "type",
    "webLink",
    "attachments",
    "calendar",
    "extensions",
    "instances",
    "multiValueExtendedProperties",
    "cancelledOccurrences",
    "exceptionOccurrences",
    "uid",
}
ENUMS = {
    "showAs": {"free", "tentative", "busy", "oof", "workingelsewhere", "unknown"},
    "importance": {"low", "normal", "high"},
    "sensitivity": {"normal", "personal", "private", "confidential"},
    "onlineMeetingProvider": {
        "unknown",
        "teamsforbusiness",
        "skypeforbusiness",
        "skypeforconsumer",
    },
}
_CANONICAL = {
    "workingelsewhere": "workingElsewhere",
    "teamsforbusiness": "teamsForBusiness",
    "skypeforbusiness": "skypeForBusiness",
    "skypeforconsumer": "skypeForConsumer",
}
_EXTENDED_ID = re.compile(
    r"^(?P<type>[A-Za-z]+) (?:\{?(?P<guid>[0-9A-Fa-f-]{36})\}? (?P<kind>Name|Id) (?P<name>.+)"
    r"|(?P<tag>0x[0-9A-Fa-f]{8}))$"
)
_EXTENDED_TYPES = {
    "string",
    "integer",
    "boolean",
    "systemtime",
    "binary",
    "double",
    "float",
    "currency",
    "long",
    "short",
    "clsid",
    "object",
    "null",
    "error",
    "applicationtime",
}


def extended_key(prop_id: str) -> str:
    """The identity of an extended property id: type and GUID compare case-insensitively,
    the name case-sensitively (extended-properties-overview.md)."""
    match = _EXTENDED_ID.match(prop_id.strip()) if isinstance(prop_id, str) else None
    if match is None or match.group("type").lower() not in _EXTENDED_TYPES:
        raise invalid_extended_property(f"The extended property id '{prop_id}' is not valid.")
    if match.group("tag"):
        return f"{match.group('type').lower()} {match.group('tag').lower()}"
    name = match.group("name") if match.group("kind") == "Name" else match.group("name").lower()
    kind, guid = match.group("type").lower(), match.group("guid").lower()
    return f"{kind} {{{guid}}} {match.group('kind')} {name}"


@dataclass
class TimeValue:
    utc: datetime
    zone: str
    local: datetime  # naive wall time as sent (for the all-day midnight rule)


@dataclass
class EventChanges:
    """What a request body sets; only the keys present in `values` change."""

    values: dict[str, Any] = field(default_factory=dict)
    start: TimeValue | None = None
    end: TimeValue | None = None
    extended: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (id, value)


def read_event_body(body: dict[str, Any]) -> EventChanges:
    changes = EventChanges()
    for name, value in body.items():
        if name.startswith("@") or "@odata." in name:
            continue
        if name in READ_ONLY:
            continue
        if name not in WRITABLE:
            raise unknown_property(name, "microsoft.graph.event")
        _read_property(changes, name, value)
    return changes


def _read_property(changes: EventChanges, name: str, value: Any) -> None:
    put = changes.values.__setitem__
    if name in ("subject", "transactionId"):
        if value is not None and not isinstance(value, str):
            raise wrong_type(name, "Edm.String")
        put(name, value if name == "transactionId" else (value or ""))
    elif name in (
        "isAllDay",
        "isReminderOn",
        "hideAttendees",
        "isOnlineMeeting",
        "responseRequested",
        "allowNewTimeProposals",
    ):
        if not isinstance(value, bool):
            raise wrong_type(name, "Edm.Boolean")
        put(name, value)
    elif name == "reminderMinutesBeforeStart":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2**31 - 1:
            raise wrong_type(name, "Edm.Int32")
        put(name, value)
    elif name in ENUMS:
        if not isinstance(value, str) or value.lower() not in ENUMS[name]:
            raise bad_request(f"The value '{value}' is not valid for property '{name}'.")
        put(name, _CANONICAL.get(value.lower(), value.lower()))
    elif name == "body":
        put(name, _read_body(value))
    elif name == "categories":
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise wrong_type(name, "Collection(Edm.String)")
        put(name, list(dict.fromkeys(value)))
    elif name in ("start", "end"):
        parsed = _read_time(name, value)
        if name == "start":
            changes.start = parsed
        else:
            changes.end = parsed
    elif name == "location":
        put(name, _read_location(value) if value is not None else None)
    elif name == "locations":
        if not isinstance(value, list):
            raise wrong_type(name, "Collection(microsoft.graph.location)")
        put(name, [_read_location(item) for item in value])
    elif name == "attendees":
        if not isinstance(value, list) or len(value) > 500:
            raise wrong_type(name, "Collection(microsoft.graph.attendee)")
        put(name, [_read_attendee(item) for item in value])
    elif name == "recurrence":
        if value is not None and not isinstance(value, dict):
            raise wrong_type(name, "microsoft.graph.patternedRecurrence")
        put(name, value)
    elif name == "singleValueExtendedProperties":
        if not isinstance(value, list):
            raise wrong_type(name, "Collection(microsoft.graph.singleValueLegacyExtendedProperty)")
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise invalid_extended_property("Each extended property needs an id.")
            prop_value = item.get("value")
            if prop_value is not None and not isinstance(prop_value, str):
                raise wrong_type("value", "Edm.String")
            changes.extended[extended_key(item["id"])] = (item["id"], prop_value or "")


def _read_body(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise wrong_type("body", "microsoft.graph.itemBody")
    content_type = value.get("contentType", "text")
    content = value.get("content", "")
    if not isinstance(content_type, str) or content_type.lower() not in ("html", "text"):
        raise bad_request(f"The value '{content_type}' is not valid for property 'contentType'.")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise wrong_type("content", "Edm.String")
    return content_type.lower(), content


def _read_time(name: str, value: Any) -> TimeValue:
    if not isinstance(value, dict):
        raise wrong_type(name, "microsoft.graph.dateTimeTimeZone")
    raw, zone_name = value.get("dateTime"), value.get("timeZone")
    if not isinstance(raw, str):
        raise wrong_type("dateTime", "Edm.String")
    if zone_name is None:
        zone_name = "UTC"
    if not isinstance(zone_name, str):
        raise wrong_type("timeZone", "Edm.String")
    timezones.zone(zone_name)
    local, _ = timezones.parse_local(raw)
    return TimeValue(timezones.to_utc(raw, zone_name), zone_name, local.replace(tzinfo=None))


def _read_location(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise wrong_type("location", "microsoft.graph.location")
    display = value.get("displayName") or ""
    if not isinstance(display, str):
        raise wrong_type("displayName", "Edm.String")
    kept = {
        k: v
        for k, v in value.items()
        if k in ("address", "coordinates", "locationEmailAddress", "locationUri")
        and isinstance(v, (dict, str))
    }
    return {"displayName": display, **kept}


def _read_attendee(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise wrong_type("attendees", "microsoft.graph.attendee")
    email = value.get("emailAddress") or {}
    if not isinstance(email, dict):
        raise wrong_type("emailAddress", "microsoft.graph.emailAddress")
    address, name = email.get("address") or "", email.get("name") or ""
    if not isinstance(address, str) or not isinstance(name, str):
        raise wrong_type("emailAddress", "Edm.String")
    kind = value.get("type") or "required"
    if not isinstance(kind, str) or kind.lower() not in ("required", "optional", "resource"):
        raise bad_request(f"The value '{kind}' is not valid for property 'type'.")
    return {"type": kind.lower(), "emailAddress": {"name": name or address, "address": address}}
