"""Typed state of one mailbox's calendar (resources/event.md), knowing no HTTP.

A `EventStore` holds single instances, series masters and exceptions of one mailbox and
writes every change through `Persistence`, so events survive `kill -9`. Occurrences of a
series are not stored: they are derived from the master, with ids that encode the master
id and the occurrence's original start, so the same occurrence always has the same id.
Every change bumps a per-mailbox sequence number and a new changeKey (`@odata.etag` is
`W/"<changeKey>"`); deletions leave a tombstone for delta queries. Every change is also
reported to `on_change(changeType, event id, changeKey)`: the one place the Graph routes,
`$batch` and the Outlook page all pass, so change notifications see them all (issue 19).

Chosen where Microsoft is undocumented (graph.md marks these [UNVERIFIED]):
- a repeated create with a `transactionId` already used in the mailbox answers 201 with
  the event stored the first time, unchanged, even when the second body differs;
- ids come in two forms (records.py): the immutable id is the store's key and what
  `Prefer: IdType="ImmutableId"` shows; every other request sees the default id, which
  changes when the item moves (`move`, the emulator's stand-in for Outlook moving an item
  between folders: Graph v1.0 has no event move). Either form is accepted on input. A
  moved item shows again in delta under its new default id; the old default id is not
  reported removed (Microsoft documents nothing about delta and moves). A deleted item's
  default id in delta is computed as if it never moved;
- categories not in the master list are accepted (Outlook shows them uncoloured);
- changing a master's recurrence, start or end drops its exceptions and cancelled
  occurrences (Outlook asks the user to confirm the same thing).

Not emulated: attendees' responses and meeting messages, attachments, other calendars,
online-meeting blobs, open extensions and multi-value extended properties.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from m365emu.graph.common.errors import not_found
from m365emu.graph.events import bodies, timezones
from m365emu.graph.events.errors import (
    all_day_not_midnight,
    all_day_too_short,
    invalid_times,
    property_validation_failure,
    stale_change_key,
    transaction_id_immutable,
)
from m365emu.graph.events.payload import EventChanges
from m365emu.graph.events.records import (
    StoredEvent,
    default_id,
    ical_uid,
    new_change_key,
    new_event_id,
    occurrence_id,
    parse_event_id,
    parse_occurrence_id,
    stored_key,
)
from m365emu.graph.events.recurrence import Recurrence
from m365emu.persistence import Persistence

EVENT_DOC = "graph.event"
TOMBSTONE_DOC = "graph.tombstone"
_MAX_TOMBSTONES = 10_000

__all__ = ["EVENT_DOC", "TOMBSTONE_DOC", "EventStore", "StoredEvent"]


class EventStore:
    """The calendar of one mailbox (key "<tid>/<oid>")."""

    def __init__(self, mailbox_key: str, persistence: Persistence) -> None:
        self.mailbox_key = mailbox_key
        self._persistence = persistence
        self.events: dict[str, StoredEvent] = {}
        self.tombstones: dict[str, int] = {}  # id → seq of its deletion
        self.seq = 0
        self.on_change: Callable[[str, str, str | None], None] | None = None

    def _changed(self, change_type: str, event_id: str, change_key: str | None) -> None:
        if self.on_change is not None:
            self.on_change(change_type, event_id, change_key)

    # -- persistence -------------------------------------------------------------------
    def _doc_key(self, event_id: str) -> str:
        return f"{self.mailbox_key}|{event_id}"

    def load(self, events: list[dict[str, Any]], tombstones: dict[str, int]) -> None:
        for doc in events:
            event = StoredEvent.from_doc(doc)
            self.events[event.id] = event
        self.tombstones.update({stored_key(k): v for k, v in tombstones.items()})
        self.seq = max([e.seq for e in self.events.values()] + list(tombstones.values()) + [0])

    def _save(self, event: StoredEvent) -> None:
        self._persistence.save(EVENT_DOC, self._doc_key(event.id), event.to_doc())

    def _bump(self, event: StoredEvent, now: datetime) -> None:
        self.seq += 1
        event.seq = self.seq
        event.change_key = new_change_key()
        event.last_modified = now
        self._save(event)

    def _tombstone(self, event_id: str) -> None:
        self.seq += 1
        self.tombstones[event_id] = self.seq
        self._persistence.save(TOMBSTONE_DOC, self._doc_key(event_id), {"seq": self.seq})
        if len(self.tombstones) > _MAX_TOMBSTONES:
            oldest = min(self.tombstones, key=self.tombstones.__getitem__)
            del self.tombstones[oldest]
            self._persistence.delete(TOMBSTONE_DOC, self._doc_key(oldest))

    # -- reads -------------------------------------------------------------------------
    def by_transaction(self, transaction_id: str) -> StoredEvent | None:
        for event in self.events.values():
            if event.transaction_id == transaction_id and event.kind != "exception":
                return event
        return None

    def listed(self) -> list[StoredEvent]:
        """What GET /me/events lists: single instances and series masters."""
        return [e for e in self.events.values() if e.kind in ("singleInstance", "seriesMaster")]

    def get(self, event_id: str) -> StoredEvent:
        """The event of an id in either form (400 malformed, 404 unknown or moved away)."""
        parsed = parse_event_id(event_id)
        event = self._by_key(parsed.key)
        if parsed.moves is not None and parsed.moves != self._moves(event):
            raise not_found()  # a default id from before the item moved
        return event

    def _by_key(self, key: str) -> StoredEvent:
        found = self.events.get(key)
        if found is not None:
            return found
        parsed = parse_occurrence_id(key)
        if parsed is None:
            raise not_found()
        master_id, original = parsed
        exception = self._exception(master_id, original)
        if exception is not None:
            return exception
        master = self.events.get(master_id)
        if master is None or master.kind != "seriesMaster":
            raise not_found()
        return self._occurrence(master, original)

    def _moves(self, event: StoredEvent) -> int:
        master = self.events.get(event.series_master_id or "")
        return master.moves if master is not None else event.moves

    def public_id(self, key: str, immutable: bool) -> str:
        """The id a request sees: the key itself, or the default id (records.py)."""
        if immutable:
            return key
        occurrence = parse_occurrence_id(key)
        owner = self.events.get(occurrence[0] if occurrence else key)
        return default_id(key, owner.moves if owner is not None else 0)

    def _exception(self, master_id: str, original: datetime) -> StoredEvent | None:
        for event in self.events.values():
            if event.series_master_id == master_id and event.original_start == original:
                return event
        return None

    def _occurrence(self, master: StoredEvent, original: datetime) -> StoredEvent:
        series = master.series()
        if series is None or original.isoformat() in master.cancelled:
            raise not_found()
        for start in series.starts(master.start):
            if start == original:
                return self._virtual(master, start)
            if start > original:
                break
        raise not_found()

    def _virtual(self, master: StoredEvent, start: datetime) -> StoredEvent:
        oid = occurrence_id(master.id, start)
        return replace(
            master,
            id=oid,
            kind="occurrence",
            start=start,
            end=start + (master.end - master.start),
            recurrence=None,
            series_master_id=master.id,
            original_start=start,
            ical_uid=ical_uid(oid),
            cancelled=[],
            transaction_id=None,
        )

    def series_instances(
        self, master_id: str, window_start: datetime, window_end: datetime
    ) -> list[StoredEvent]:
        """GET /me/events/{id}/instances: the occurrences and exceptions of one series."""
        master = self.get(master_id)
        if master.kind != "seriesMaster":
            return []
        return [
            e for e in self.instances(window_start, window_end) if e.series_master_id == master.id
        ]

    def instances(self, window_start: datetime, window_end: datetime) -> list[StoredEvent]:
        """calendarView: single instances, occurrences and exceptions overlapping the window
        (an event overlaps when it starts before the end and ends after the start; a
        zero-length event at the window start counts), sorted by start."""
        found: list[StoredEvent] = []

        def overlaps(event: StoredEvent) -> bool:
            return event.start < window_end and (
                event.end > window_start or event.start == window_start
            )

        moved = {
            (e.series_master_id, e.original_start)
            for e in self.events.values()
            if e.kind == "exception"
        }
        for event in self.events.values():
            if event.kind in ("singleInstance", "exception") and overlaps(event):
                found.append(event)
            elif event.kind == "seriesMaster":
                series = event.series()
                if series is None:
                    continue
                duration = event.end - event.start
                for start in series.starts(event.start):
                    if start >= window_end:
                        break
                    if start.isoformat() in event.cancelled:
                        continue
                    if (event.id, start) in moved:
                        continue
                    if start + duration > window_start or start == window_start:
                        found.append(self._virtual(event, start))
        found.sort(key=lambda e: (e.start, e.id))
        return found

    # -- writes ------------------------------------------------------------------------
    def create(
        self, changes: EventChanges, now: datetime, owner: tuple[str, str]
    ) -> tuple[StoredEvent, bool]:
        """The new event and True, or the event already made with this transactionId and
        False (a client's retry: nothing is created)."""
        transaction_id = changes.values.get("transactionId")
        if transaction_id:
            existing = self.by_transaction(transaction_id)
            if existing is not None:
                return existing, False
        if changes.start is None or changes.end is None:
            raise invalid_times("An event needs both start and end.")
        event_id = new_event_id()
        event = StoredEvent(
            id=event_id,
            kind="singleInstance",
            start=changes.start.utc,
            end=changes.end.utc,
            start_zone=changes.start.zone,
            end_zone=changes.end.zone,
            created=now,
            last_modified=now,
            change_key="",
            ical_uid=ical_uid(event_id),
        )
        self._apply(event, changes, creating=True)
        self._bump(event, now)
        self.events[event.id] = event
        self._changed("created", event.id, event.change_key)
        return event, True

    def update(
        self, event_id: str, changes: EventChanges, now: datetime, if_match: str | None
    ) -> StoredEvent:
        current = self.get(event_id)
        _check_etag(current, if_match)
        # Changes are applied to a copy, so a refused change leaves the event untouched.
        event = copy.deepcopy(current)
        if event.kind == "occurrence":
            # An occurrence that is changed becomes an exception and keeps its id, as
            # Exchange's occurrence ids do.
            event.kind, event.created = "exception", now
        if event.kind == "exception":
            changes.values.pop("recurrence", None)
        new_tx = changes.values.get("transactionId")
        if (
            new_tx is not None
            and event.transaction_id is not None
            and new_tx != event.transaction_id
        ):
            raise transaction_id_immutable()
        before = (event.recurrence, event.start, event.end)
        self._apply(event, changes, creating=False)
        if event.kind == "seriesMaster" and before != (event.recurrence, event.start, event.end):
            self._drop_exceptions(event)
        self.events[event.id] = event
        self._bump(event, now)
        self._changed("updated", event.id, event.change_key)
        return event

    def move(self, event_id: str, now: datetime) -> StoredEvent:
        """The item moves to another folder and back (Outlook can; Graph v1.0 cannot):
        its default id changes, its immutable id does not (outlook-immutable-id.md)."""
        event = self.get(event_id)
        if event.kind not in ("singleInstance", "seriesMaster"):
            raise not_found()
        event.moves += 1
        self._bump(event, now)
        return event

    def delete(self, event_id: str, now: datetime, if_match: str | None = None) -> None:
        event = self.get(event_id)
        _check_etag(event, if_match)
        if event.kind in ("occurrence", "exception"):
            master = self.events[event.series_master_id or ""]
            assert event.original_start is not None
            master.cancelled.append(event.original_start.isoformat())
            if event.kind == "exception":
                self._forget(event.id)
            gone = occurrence_id(master.id, event.original_start)
            self._tombstone(gone)
            self._bump(master, now)
            self._changed("deleted", gone, None)
            self._changed("updated", master.id, master.change_key)
            return
        if event.kind == "seriesMaster":
            self._drop_exceptions(event)
        self._forget(event.id)

    def _forget(self, event_id: str) -> None:
        self.events.pop(event_id, None)
        self._persistence.delete(EVENT_DOC, self._doc_key(event_id))
        self._tombstone(event_id)
        self._changed("deleted", event_id, None)

    def _drop_exceptions(self, master: StoredEvent) -> None:
        for event in [e for e in self.events.values() if e.series_master_id == master.id]:
            self._forget(event.id)
        master.cancelled = []

    def _apply(self, event: StoredEvent, changes: EventChanges, creating: bool) -> None:
        values = changes.values
        simple = {
            "subject": "subject",
            "isReminderOn": "is_reminder_on",
            "reminderMinutesBeforeStart": "reminder_minutes",
            "categories": "categories",
            "showAs": "show_as",
            "importance": "importance",
            "sensitivity": "sensitivity",
            "attendees": "attendees",
            "hideAttendees": "hide_attendees",
            "isOnlineMeeting": "is_online_meeting",
            "onlineMeetingProvider": "online_meeting_provider",
            "responseRequested": "response_requested",
            "allowNewTimeProposals": "allow_new_time_proposals",
            "isAllDay": "is_all_day",
        }
        for wire, attr in simple.items():
            if wire in values:
                setattr(event, attr, values[wire])
        if creating and values.get("transactionId"):
            event.transaction_id = values["transactionId"]
        if "body" in values:
            content_type, content = values["body"]
            event.body_type = content_type
            event.body = bodies.store_html(content) if content_type == "html" else content
        if "location" in values:
            event.location = values["location"]
            event.locations = [values["location"]] if values["location"] else []
        if "locations" in values:
            event.locations = values["locations"]
            if "location" not in values:
                names = "; ".join(loc["displayName"] for loc in values["locations"])
                event.location = {"displayName": names} if names else None
        if changes.start is not None:
            event.start, event.start_zone = changes.start.utc, changes.start.zone
        if changes.end is not None:
            event.end, event.end_zone = changes.end.utc, changes.end.zone
        for key, (prop_id, value) in changes.extended.items():
            event.extended[key] = [prop_id, value]
        if "recurrence" in values and event.kind in ("singleInstance", "seriesMaster"):
            recurrence = values["recurrence"]
            if recurrence is None:
                event.recurrence, event.kind = None, "singleInstance"
            else:
                parsed = Recurrence.from_json(recurrence, event.start, event.start_zone)
                event.recurrence, event.kind = parsed.to_json(), "seriesMaster"
        _check_times(event, changes)


def _check_times(event: StoredEvent, changes: EventChanges) -> None:
    if event.end < event.start and event.is_all_day:
        raise property_validation_failure()
    if event.end < event.start:
        raise invalid_times("The end time of an event must not be earlier than its start time.")
    if not event.is_all_day:
        return
    # The midnight rule (event.md): start and end at midnight, in the same zone.
    for value, instant, zone_name in (
        (changes.start, event.start, event.start_zone),
        (changes.end, event.end, event.end_zone),
    ):
        local = value.local if value is not None else timezones.wall(instant, zone_name)
        if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
            raise all_day_not_midnight()
    if timezones.zone(event.start_zone) is not timezones.zone(event.end_zone):
        raise all_day_not_midnight()
    if event.end - event.start < timedelta(hours=23):  # 23: a DST day is still a day
        raise all_day_too_short()


def _check_etag(event: StoredEvent, if_match: str | None) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    tag = if_match.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    if tag.strip('"') != event.change_key:
        raise stale_change_key()
