"""Content hashes of the fields s5sync owns on each side (R5, R10, R17).

DESIGN.md "Change detection": timestamps alone are no evidence (Exchange bumps
`lastModifiedDateTime` when an event is merely opened), so a side has changed when the
hash of its owned fields differs from the one stored after s5sync's last write or read.
For events the changeKey must differ too, and the hash is of the *server's* version:
the body is hashed as normalised text, so Exchange rewriting our HTML is not a change.

A hash is the SHA-256 of a canonical JSON document (sorted keys, no spaces, UTF-8);
instants are written in UTC so a zone's spelling never counts as a change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from s5sync.core.html_text import html_to_text, normalise_text
from s5sync.core.mapslink import chosen_address, one_line
from s5sync.core.snapshots import EventSnapshot, TaskSnapshot


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _digest(document: dict[str, object]) -> str:
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def task_hash(task: TaskSnapshot) -> str:
    """R5: title, notes, start, end, alarm, kind, Sync and the R4 address of a task."""
    address = chosen_address(task)
    return _digest(
        {
            "title": task.title,
            "notes": task.notes,
            "start": _instant(task.start),
            "end": _instant(task.end),
            "alarm": task.alarm_minutes,
            "kind": task.kind.value,
            "sync": task.sync,
            "address": None if address is None else one_line(address),
        }
    )


def body_text(event: EventSnapshot) -> str:
    """The event body as a reader sees it, normalised (HTML or text alike)."""
    return html_to_text(event.body) if event.body_is_html else normalise_text(event.body)


def event_hash(event: EventSnapshot) -> str:
    """R10: subject, body text, start, end, reminder and all-day flag of an event."""
    return _digest(
        {
            "subject": event.subject,
            "body": body_text(event),
            "start": _instant(event.start),
            "end": _instant(event.end),
            "reminder": event.reminder_minutes,
            "all_day": event.is_all_day,
        }
    )
