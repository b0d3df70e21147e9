"""The rows a cycle writes and reads, as both of its paths build them (issue 18 item i).

`store/cycles_sqlite.py` runs SQLAlchemy statements and `store/cycles_pg.py` calls
server-side functions, but what goes into a row is decided once, here: which cached
events a window save drops, the sealed form of event text and of the delta link (R22),
an activity line's columns (R18), which mapping row a link write names (R16), and the
naive UTC a `timestamp` column holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from s5sync.core.records import ActivityEntry, CachedEvent, DeltaRecord
from s5sync.core.snapshots import Link
from s5sync.store.sealed import open_event_data, seal_event_data
from s5sync.store.secrets import SecretBox
from s5sync.sync.ports import WindowSave


def naive(moment: datetime) -> datetime:
    """An aware datetime as the naive UTC a `timestamp` column holds (store/types.py)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return moment.astimezone(UTC).replace(tzinfo=None)


def aware(value: str | None) -> datetime | None:
    """A `timestamp` as PostgreSQL's JSON writes it (ISO 8601, UTC) as an aware datetime."""
    return None if value is None else moment(value)


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def activity_row(e: ActivityEntry) -> dict[str, Any]:
    """An activity line's columns as both paths write them (R18): the subject is kept to
    its first 120 characters."""
    return {
        "direction": e.direction,
        "action": e.action,
        "reason": e.reason,
        "task_id": e.task_id,
        "event_id": e.event_id,
        "subject": e.subject[:120],
        "message": e.message,
    }


def stale_ids(window: WindowSave) -> list[str]:
    """The cached events a window save replaces or drops (a re-baseline drops them all
    instead): those removed and those read again, once each, sorted."""
    return sorted({*window.removed, *(item.event_id for item in window.upserts)})


def sealed_upserts(box: SecretBox, window: WindowSave) -> list[dict[str, Any]]:
    """The window's cache rows, their subject and body sealed (store/sealed.py)."""
    return [
        {
            "event_id": item.event_id,
            "data": seal_event_data(box, item.data),
            "change_key": item.change_key,
            "server_hash": item.server_hash,
            "relevant": item.relevant,
        }
        for item in window.upserts
    ]


def sealed_link(box: SecretBox, record: DeltaRecord) -> bytes | None:
    """The delta link as stored: sealed (it names the mailbox's sync state, R22)."""
    return box.seal(record.delta_link) if record.delta_link is not None else None


def cached_event(
    box: SecretBox,
    event_id: str,
    data: dict[str, Any],
    change_key: str,
    server_hash: str,
    relevant: bool,
) -> CachedEvent:
    """A cache row as the cycle reads it: subject and body opened."""
    return CachedEvent(event_id, open_event_data(box, data), change_key, server_hash, relevant)


def delta_record(
    box: SecretBox,
    link: bytes | None,
    window_start: datetime,
    window_end: datetime,
    baselined_at: datetime,
    relevance_tag: str | None,
) -> DeltaRecord:
    """The stored delta link and window as the cycle reads them: the link opened."""
    opened = box.open(link) if link is not None else None
    return DeltaRecord(opened, window_start, window_end, baselined_at, relevance_tag)


def link_values(link: Link) -> dict[str, Any]:
    """A mapping row's columns as the link holds them (R16)."""
    return {
        "task_id": link.task_id,
        "event_id": link.event_id,
        "origin": link.origin.value,
        "state": link.state.value,
        "transaction_id": link.transaction_id,
        "task_hash": link.task_hash,
        "event_hash": link.event_hash,
        "change_key": link.change_key,
    }


def replaced_row(old: Link) -> tuple[str, int | str | None]:
    """The row a link replaces: found by the old link's task id, else its event id,
    else its transaction id (a pending create knows only that)."""
    if old.task_id is not None:
        return "task_id", old.task_id
    if old.event_id is not None:
        return "event_id", old.event_id
    return "transaction_id", old.transaction_id


def deleted_row(link: Link) -> tuple[str, int | str | None]:
    """The row a link's deletion forgets: by its task id, else its event id."""
    if link.task_id is not None:
        return "task_id", link.task_id
    return "event_id", link.event_id
