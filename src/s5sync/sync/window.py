"""The Outlook window cache's bounds and its JSON form (DESIGN.md "Reading Outlook").

`calendarView/delta` fixes its window at the first request, but the import window moves
with `now` (R8). So the delta window is wide — from the start of yesterday (UTC) to
now + import window + 7 days — and re-read from scratch only when its end draws within a
day of the import window's end. The rules read the cache, so an event that enters the
14-day window as time passes is seen without any change in Outlook.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, time, timedelta
from typing import Any

from s5sync.core.snapshots import EventSnapshot, EventType, StoreOptions

SLACK = timedelta(days=7)
REBASELINE_MARGIN = timedelta(days=1)


def delta_window(now: datetime, options: StoreOptions) -> tuple[datetime, datetime]:
    """A fresh window: start of yesterday (UTC) to now + import window + 7 days."""
    yesterday = datetime.combine(now.astimezone(UTC).date() - timedelta(days=1), time(), UTC)
    end = now + timedelta(days=options.import_window_days) + SLACK
    return yesterday, end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def needs_rebaseline(
    window_start: datetime, window_end: datetime, now: datetime, options: StoreOptions
) -> bool:
    """True when the import window is about to leave the cached window (or never fit)."""
    import_end = now + timedelta(days=options.import_window_days)
    return window_end - REBASELINE_MARGIN < import_end or window_start > now


_DATETIMES = {"start", "end"}
_FIELDS = {f.name for f in fields(EventSnapshot)}


def encode_fields(values: dict[str, Any]) -> dict[str, Any]:
    """EventSnapshot field values → JSON-safe values (partial dicts allowed)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _FIELDS:
            continue
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, EventType):
            value = value.value
        out[name] = value
    return out


def decode_snapshot(event_id: str, data: dict[str, Any]) -> EventSnapshot:
    """A cached dict → EventSnapshot; missing fields take the snapshot's defaults."""
    kwargs: dict[str, Any] = {
        "id": event_id,
        "subject": None,
        "body": "",
        "start": None,
        "end": None,
    }
    for name, value in data.items():
        if name not in _FIELDS or name == "id":
            continue
        if name in _DATETIMES and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif name == "categories" and isinstance(value, list):
            value = tuple(value)
        elif name == "type" and isinstance(value, str):
            try:
                value = EventType(value)
            except ValueError:
                value = EventType.SINGLE_INSTANCE if value == "" else value
        kwargs[name] = value
    return EventSnapshot(**kwargs)
