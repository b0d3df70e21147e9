"""One stored event and its ids (resources/event.md; outlook-immutable-id.md): what
`EventStore` keeps per item.

Two id formats, as Exchange has (learn.microsoft.com/graph/outlook-immutable-id):
- the **immutable** id (`AAkALg…`) never changes while the item stays in the mailbox;
  it is the key the store keeps, and what a request with `Prefer: IdType="ImmutableId"`
  sees;
- the **default** (REST) id (`AAMkAG…`) is what every other request sees; it encodes the
  item and how often it was moved (`StoredEvent.moves`), so it changes on a move, as the
  docs say ("By default, this value changes when the item is moved"), and an old default
  id then answers 404.
Both are accepted on input, whichever the request prefers (Graph resolves either form).
Ids use the URL-safe base64 alphabet so they never need escaping in a path. Occurrence
ids (`AAMkOc…`) encode their master's id (in the form the request sees) and the original
start, so an occurrence keeps its id across requests without being stored.

Anything that does not decode as one of these forms (`abc`, `285`, a truncated id) is
malformed: 400 `ErrorInvalidIdMalformed` "Id is malformed." (graph.md §1), never 404.
iCalUIds are the Outlook-style hex string, different for each occurrence (event.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from m365emu.graph.common.errors import GraphError, malformed_id
from m365emu.graph.events.recurrence import Recurrence

IMMUTABLE_PREFIX = "AAkALg"
DEFAULT_PREFIX = "AAMkAG"
_OCCURRENCE_PREFIX = "AAMkOc"
_ITEM_BYTES = 18  # 16 of the item, 2 of the immutable marker or the move count
_MAX_ID = 512


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise malformed_id() from None


def new_event_id() -> str:
    """A new item's immutable id: the key the store keeps."""
    return IMMUTABLE_PREFIX + _b64(uuid.uuid4().bytes + b"\x00\x00")


def new_change_key() -> str:
    return base64.b64encode(uuid.uuid4().bytes + b"\x00\x01\x02\x03").decode()


def occurrence_id(master_id: str, original_start: datetime) -> str:
    raw = f"{master_id}|{original_start.astimezone(UTC):%Y%m%dT%H%M%S}".encode()
    return _OCCURRENCE_PREFIX + _b64(raw)


def parse_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    """(master id as written in it, original start), None for a non-occurrence id."""
    if not event_id.startswith(_OCCURRENCE_PREFIX):
        return None
    try:
        raw = _unb64(event_id[len(_OCCURRENCE_PREFIX) :]).decode()
        master_id, _, stamp = raw.partition("|")
        return master_id, datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except (ValueError, UnicodeDecodeError):
        raise malformed_id() from None


@dataclass(frozen=True)
class ParsedId:
    """An id a client sent, resolved: the store's key, and the move count a default id
    carries (None for an immutable id, which survives moves)."""

    key: str
    moves: int | None


def parse_item_id(event_id: str) -> ParsedId:
    """The store's key of a single item's or a master's id, in either form."""
    if len(event_id) > _MAX_ID:
        raise malformed_id()
    for prefix, immutable in ((IMMUTABLE_PREFIX, True), (DEFAULT_PREFIX, False)):
        if event_id.startswith(prefix):
            raw = _unb64(event_id[len(prefix) :])
            if len(raw) != _ITEM_BYTES:
                raise malformed_id()
            if immutable:
                return ParsedId(event_id, None)
            key = IMMUTABLE_PREFIX + _b64(raw[:16] + b"\x00\x00")
            return ParsedId(key, int.from_bytes(raw[16:], "big"))
    raise malformed_id()


def parse_event_id(event_id: str) -> ParsedId:
    """Any event id a client sent (occurrences included), as the store's key."""
    occurrence = parse_occurrence_id(event_id)
    if occurrence is None:
        return parse_item_id(event_id)
    master_id, original = occurrence
    master = parse_item_id(master_id)
    return ParsedId(occurrence_id(master.key, original), master.moves)


def default_id(key: str, moves: int) -> str:
    """The default (REST) id of the item whose immutable id is `key`."""
    occurrence = parse_occurrence_id(key)
    if occurrence is not None:
        return occurrence_id(default_id(occurrence[0], moves), occurrence[1])
    raw = _unb64(key[len(IMMUTABLE_PREFIX) :])
    return DEFAULT_PREFIX + _b64(raw[:16] + (moves % 65536).to_bytes(2, "big"))


def stored_key(event_id: str) -> str:
    """The store's key of an id persisted by an emulator before issue 24 (default ids
    were the only ids then; they are the same item's default id with no move)."""
    try:
        return parse_event_id(event_id).key
    except GraphError:  # an unknown legacy form stays as it was
        return event_id


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
    moves: int = 0  # how often the item moved: part of its default id only

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
        values["id"] = stored_key(values["id"])
        if values.get("series_master_id"):
            values["series_master_id"] = stored_key(values["series_master_id"])
        return StoredEvent(**values)

    def series(self) -> Recurrence | None:
        if self.kind != "seriesMaster" or self.recurrence is None:
            return None
        return Recurrence.from_json(self.recurrence, self.start, self.start_zone)
