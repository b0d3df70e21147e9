"""An event as Graph writes it (user-post-events.md examples; graph.md §1): every property
the examples return, `@odata.etag` = `W/"<changeKey>"`, start/end in UTC or in the zone of
`Prefer: outlook.timezone`, the body in the format of `Prefer: outlook.body-content-type`.

`transactionId` is written only when an app set it: event.md says "This property is only
returned in a response payload if an app has set it" (issue 24 item 6). event-delta.md's
example shows `"transactionId": null`; a client that reads an absent property as unset is
right with both forms, while one that indexes it fails here as it could on Graph. Extended
properties appear only when asked for with `$expand` (extended-properties-overview.md).

Locations as user-post-events.md's "multiple locations" response writes them: `location`
carries `uniqueId` = its display name and `uniqueIdType` "private"; an entry of `locations`
carries them only when it has an `address`, otherwise just `uniqueIdType` "unknown"
(issue 24 item 7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from m365emu.graph.events import bodies, timezones
from m365emu.graph.events.models import StoredEvent

UNSET_TIME = "0001-01-01T00:00:00Z"
EVENT_PROPERTIES = frozenset(
    """id createdDateTime lastModifiedDateTime changeKey categories transactionId
    originalStartTimeZone originalEndTimeZone iCalUId reminderMinutesBeforeStart isReminderOn
    hasAttachments subject bodyPreview importance sensitivity isAllDay isCancelled isOrganizer
    responseRequested seriesMasterId showAs type webLink onlineMeetingUrl isOnlineMeeting
    onlineMeetingProvider allowNewTimeProposals isDraft hideAttendees responseStatus body start
    end location locations recurrence attendees organizer onlineMeeting originalStart
    singleValueExtendedProperties""".split()  # noqa: SIM905 - a word list reads best here
)


@dataclass(frozen=True)
class RenderOptions:
    zone: str = "UTC"  # from Prefer: outlook.timezone
    body_type: str | None = None  # from Prefer: outlook.body-content-type
    select: frozenset[str] | None = None
    expand_extended: frozenset[str] | None = None  # extended-property keys to include
    owner_name: str = ""
    owner_email: str = ""
    # The id form the request sees (Prefer: IdType): the store's key → the id written.
    public_id: Callable[[str], str] = str


def _location(value: dict[str, Any] | None, private: bool) -> dict[str, Any]:
    if not value:
        return {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    out: dict[str, Any] = {"displayName": value.get("displayName", ""), "locationType": "default"}
    if private or value.get("address"):
        out["uniqueId"] = value.get("displayName", "")
        out["uniqueIdType"] = "private"
    else:
        out["uniqueIdType"] = "unknown"
    out.update({k: v for k, v in value.items() if k != "displayName"})
    return out


def render_event(event: StoredEvent, options: RenderOptions) -> dict[str, Any]:
    content_type, content = bodies.render(event.body_type, event.body, options.body_type)
    event_id = options.public_id(event.id)
    master_id = event.series_master_id
    organizer = {"emailAddress": {"name": options.owner_name, "address": options.owner_email}}
    full: dict[str, Any] = {
        "@odata.etag": f'W/"{event.change_key}"',
        "id": event_id,
        "createdDateTime": timezones.offset_datetime(event.created),
        "lastModifiedDateTime": timezones.offset_datetime(event.last_modified),
        "changeKey": event.change_key,
        "categories": list(event.categories),
        "transactionId": event.transaction_id,
        "originalStartTimeZone": event.start_zone,
        "originalEndTimeZone": event.end_zone,
        "iCalUId": event.ical_uid,
        "reminderMinutesBeforeStart": event.reminder_minutes,
        "isReminderOn": event.is_reminder_on,
        "hasAttachments": False,
        "subject": event.subject,
        "bodyPreview": bodies.preview(event.body_type, event.body),
        "importance": event.importance,
        "sensitivity": event.sensitivity,
        "isAllDay": event.is_all_day,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": event.response_requested,
        "seriesMasterId": options.public_id(master_id) if master_id else None,
        "showAs": event.show_as,
        "type": event.kind,
        "webLink": "https://outlook.office365.com/owa/?itemid="
        + quote(event_id, safe="")
        + "&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": event.is_online_meeting,
        "onlineMeetingProvider": event.online_meeting_provider,
        "allowNewTimeProposals": event.allow_new_time_proposals,
        "isDraft": False,
        "hideAttendees": event.hide_attendees,
        "responseStatus": {"response": "organizer", "time": UNSET_TIME},
        "body": {"contentType": content_type, "content": content},
        "start": {
            "dateTime": timezones.graph_datetime(event.start, options.zone),
            "timeZone": options.zone,
        },
        "end": {
            "dateTime": timezones.graph_datetime(event.end, options.zone),
            "timeZone": options.zone,
        },
        "location": _location(event.location, private=True),
        "locations": [_location(loc, private=False) for loc in event.locations],
        "recurrence": event.recurrence,
        "attendees": [
            {**a, "status": {"response": "none", "time": UNSET_TIME}} for a in event.attendees
        ],
        "organizer": organizer,
        "onlineMeeting": _online_meeting(event) if event.is_online_meeting else None,
    }
    if event.transaction_id is None:
        del full["transactionId"]  # event.md: returned only if an app has set it
    if event.original_start is not None:
        full["originalStart"] = timezones.offset_datetime(event.original_start)
    if options.expand_extended is not None:
        full["singleValueExtendedProperties"] = [
            {"id": prop_id, "value": value}
            for key, (prop_id, value) in event.extended.items()
            if not options.expand_extended or key in options.expand_extended
        ]
    if options.select is not None:
        keep = options.select | {"id", "@odata.etag", "singleValueExtendedProperties"}
        full = {k: v for k, v in full.items() if k in keep}
    return full


def _online_meeting(event: StoredEvent) -> dict[str, Any]:
    return {
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/emulator/{quote(event.id, safe='')}",
        "conferenceId": str(int(event.ical_uid[-9:], 16) % 10**9),
        "tollNumber": "+1 555 0100",
    }
