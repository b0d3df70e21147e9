"""Frozen snapshots of both sides, as the rules see them (DESIGN.md "The shape").

The shells turn System Five rows, cached Graph events and mapping rows into these; the
rules take them and return decisions. Times are aware datetimes in UTC; System Five's
wall-clock times are converted by the connector with `core.timezones` (DST reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TaskKind(StrEnum):
    """System Five task kinds (SPEC.md reference schema)."""

    CUSTOMER = "customer"
    DELIVERY = "delivery"
    SERVICE = "service"
    INTERNAL = "internal"
    OUTLOOK = "outlook"


class EventType(StrEnum):
    """Graph's `event.type` (R8: only single instances are imported)."""

    SINGLE_INSTANCE = "singleInstance"
    OCCURRENCE = "occurrence"
    EXCEPTION = "exception"
    SERIES_MASTER = "seriesMaster"


class Origin(StrEnum):
    """Which side a linked pair started on."""

    S5 = "s5"
    OUTLOOK = "outlook"


class LinkState(StrEnum):
    """A mapping row's state (DESIGN.md; R7b, R11b, R16)."""

    PENDING = "pending"
    ACTIVE = "active"
    OUTLOOK_DELETED = "outlook_deleted"
    TASK_DELETED = "task_deleted"


@dataclass(frozen=True)
class Address:
    """One System Five address (bill_to or ship_to); any field may be empty."""

    id: int
    kind: str
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class TaskSnapshot:
    """A System Five task with its customer's chosen address (R4: lowest id per kind).

    `updated_at` is System Five's own text, kept verbatim for optimistic writes.
    `time_notes` says how the connector adapted wall-clock times (DST gap or fold, R23).
    """

    id: int
    employee_id: int
    kind: TaskKind
    title: str
    notes: str
    start: datetime
    end: datetime
    alarm_minutes: int | None
    sync: bool
    needs_review: bool
    external_ref: str | None
    updated_at: str
    customer_name: str | None = None
    bill_to: Address | None = None
    ship_to: Address | None = None
    time_notes: tuple[str, ...] = ()
    # R23: why the row could not be read (a time or kind System Five's format cannot
    # hold); its times and kind are then placeholders and nothing is written for it.
    unreadable: str | None = None


@dataclass(frozen=True)
class EventSnapshot:
    """An Outlook event as the window cache holds it (DESIGN.md "the window cache").

    `start`/`end` are UTC; for all-day events they are the midnights Graph reports and
    only their dates count (R12c). `body` is plain text when read for import.
    `task_ref` is s5sync's hidden extended property (R16b); `reminder_minutes` is None
    when the reminder is off. Missing or malformed wire values are None.
    """

    id: str
    subject: str | None
    body: str
    start: datetime | None
    end: datetime | None
    is_all_day: bool = False
    reminder_minutes: int | None = None
    categories: tuple[str, ...] = ()
    type: EventType = EventType.SINGLE_INSTANCE
    is_cancelled: bool = False
    change_key: str = ""
    task_ref: str | None = None
    transaction_id: str | None = None
    body_is_html: bool = False


@dataclass(frozen=True)
class Link:
    """One mapping row (R16): a task and an event of one user."""

    task_id: int | None
    event_id: str | None
    origin: Origin
    state: LinkState
    transaction_id: str | None = None
    task_hash: str | None = None
    event_hash: str | None = None
    change_key: str | None = None


@dataclass(frozen=True)
class StoreOptions:
    """A store's options (R21), with the seed's defaults."""

    time_zone: str = "America/New_York"
    category_name: str = "Received From System5"
    category_color: str = "preset4"
    sync_tag: str = "[sync]"
    import_window_days: int = 14
    interval_minutes: int = 10
    background_sync: bool = False
    retention_days: int = 30
    s5_poll_seconds: int = 15  # R14b: the System Five watcher's period
    safety_minutes: int = 60  # R14b: the periodic cycle while a subscription is live
    alert_digest: bool = False  # R21d: a daily digest e-mail to the administrators
    # R6b: the second category an event gets when its task is deleted in System Five
    # (or is no longer the user's), so that it no longer looks booked; on by default.
    removed_category: bool = True
    removed_category_name: str = "Removed from System Five"
    removed_category_color: str = "preset0"


@dataclass(frozen=True)
class TaskDraft:
    """Values to write into a System Five task (R9, R10), already adapted (R23)."""

    title: str
    notes: str
    start: datetime
    end: datetime
    alarm_minutes: int | None
    adaptations: tuple[str, ...] = field(default=())
