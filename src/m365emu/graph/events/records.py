"""One stored event and its ids (resources/event.md): what `EventStore` keeps per item.

Ids look like Exchange's (an `AAMkAG…` prefix and base64) but use the URL-safe alphabet so
they never need escaping in a path. Occurrence ids encode the master id and the original
start, so an occurrence keeps its id across requests without being stored. iCalUIds are
the Outlook-style hex string, different for each occurrence (event.md).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from m365emu.graph.common.errors import malformed_id
from m365emu.graph.events.recurrence import Recurrence

_OCCURRENCE_PREFIX = "AAMkOc"


def new_event_id() -> str:
    return "AAMkAG" + base64.urlsafe_b64encode(uuid.uuid4().bytes + b"\x00\x00").decode()


def new_change_key() -> str:
    return base64.b64encode(uuid.uuid4().bytes + b"\x00\x01\x02\x03").decode()


def occurrence_id(master_id: str, original_start: datetime) -> str:
    raw = f"{master_id}|{original_start.astimezone(UTC):%Y%m%dT%H%M%S}".encode()
    return _OCCURRENCE_PREFIX + base64.urlsafe_b64encode(raw).decode()


def parse_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    if not event_id.startswith(_OCCURRENCE_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(event_id[len(_OCCURRENCE_PREFIX) :].encode()).decode()
        master_id, _, stamp = raw.partition("|")
        return master_id, datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except (ValueError, UnicodeDecodeError):
        raise malformed_id() from None


def ical_uid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest().upper()
    return "040000008200E00074C5B7101A82E008000000" + digest[:60]


@dataclass
class StoredEvent:
    id: str
    kind: str  # singleInstance | seriesMaster | occurrence | exception
    start: datetime
    end: datetime
    start_zone: str
    end_zone: str
    created: datetime
    last_modified: datetime
    change_key: str
    ical_uid: str
    seq: int = 0
    subject: str = ""
    body_type: str = "html"
    body: str = ""
    is_all_day: bool = False
    is_reminder_on: bool = True
    reminder_minutes: int = 15
    categories: list[str] = field(default_factory=list)
    show_as: str = "busy"
    importance: str = "normal"
    sensitivity: str = "normal"
    location: dict[str, Any] | None = None
    locations: list[dict[str, Any]] = field(default_factory=list)
    attendees: list[dict[str, Any]] = field(default_factory=list)
    recurrence: dict[str, Any] | None = None
    transaction_id: str | None = None
    extended: dict[str, list[str]] = field(default_factory=dict)  # key → [id, value]
    hide_attendees: bool = False
    is_online_meeting: bool = False
    online_meeting_provider: str = "unknown"
    response_requested: bool = True
    allow_new_time_proposals: bool = True
    series_master_id: str | None = None
    original_start: datetime | None = None
    cancelled: list[str] = field(default_factory=list)  # original starts, ISO UTC

    def to_doc(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        for name in ("start", "end", "created", "last_modified", "original_start"):
            doc[name] = doc[name].isoformat() if doc[name] is not None else None
        return doc

    @staticmethod
    def from_doc(doc: dict[str, Any]) -> StoredEvent:
        values = dict(doc)
        for name in ("start", "end", "created", "last_modified", "original_start"):
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        return StoredEvent(**values)

    def series(self) -> Recurrence | None:
        if self.kind != "seriesMaster" or self.recurrence is None:
            return None
        return Recurrence.from_json(self.recurrence, self.start, self.start_zone)
