"""`FakeCalendarGateway`: one user's Outlook calendar in memory (STYLE.md habit 5).

It keeps the `CalendarGateway` contract (tests/contract/test_calendar_gateway.py runs the
same suite on it and on the Graph adapter) and counts requests the way the Graph adapter
would spend them (a delta page per `page_size` items, `$batch`es of 20, a category list),
so the cycle's tests can check request budgets (R23b). Knobs for the cycle's tests:
`user_creates` / `user_edits` / `user_deletes` act as the user in Outlook,
`expire_delta()` makes the next read start over, `fail_next(error)` makes the next call
raise, `not_done_next(n, retry_at)` leaves the next n writes NOT_DONE (throttled), and
`needs_sign_in` makes every call raise `NeedsSignIn` (R19b).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from s5sync.core.html_text import html_to_text
from s5sync.core.snapshots import EventSnapshot
from s5sync.outlook.errors import MalformedEventId, NeedsSignIn, OutlookError
from s5sync.outlook.metering import RequestCounter
from s5sync.sync.ports import (
    CategoriesWrite,
    EventChange,
    EventUpdate,
    EventWrite,
    MasterCategory,
    WindowRead,
    WriteResult,
    WriteStatus,
)

BATCH = 20
FIELDS = (
    "subject",
    "body",
    "start",
    "end",
    "is_all_day",
    "reminder_minutes",
    "categories",
    "type",
    "is_cancelled",
    "change_key",
    "transaction_id",
    "body_is_html",
)


@dataclass
class _Stored:
    event: EventSnapshot
    version: int
    deleted: bool = False


def _well_formed(event_id: str) -> bool:
    """Graph answers 400 ErrorInvalidIdMalformed to an id it cannot decode: here, any id
    not of the fake's own form."""
    return re.fullmatch(r"fake-event-[0-9]+", event_id) is not None


def _fields(event: EventSnapshot) -> dict[str, object]:
    return {name: getattr(event, name) for name in FIELDS}


def _text(html: str) -> str:
    """Bodies are read as text (like `outlook.body-content-type="text"`)."""
    return html_to_text(html)


class FakeCalendarGateway:
    """An in-memory Outlook calendar with Graph's request accounting."""

    def __init__(self, *, page_size: int = 100) -> None:
        self.page_size = page_size
        self.counter = RequestCounter()
        self.categories: dict[str, str] = {}  # displayName → colour
        self.needs_sign_in = False
        self._events: dict[str, _Stored] = {}
        self._version = 0
        self._ids = 0
        self._epoch = 0  # bumped by expire_delta: older links are refused
        self._failures: list[OutlookError] = []
        self._not_done = 0
        self._not_done_until: datetime | None = None
        self._transactions: dict[str, str] = {}

    # -- knobs -----------------------------------------------------------------------

    def fail_next(self, error: OutlookError) -> None:
        self._failures.append(error)

    def not_done_next(self, count: int, retry_at: datetime | None = None) -> None:
        self._not_done, self._not_done_until = count, retry_at

    def expire_delta(self) -> None:
        self._epoch += 1

    def user_creates(self, subject: str, start: datetime, end: datetime, **extra: object) -> str:
        event_id = self._new_id()
        event = EventSnapshot(
            id=event_id, subject=subject, body="", start=start, end=end, change_key="ck0"
        )
        self._put(replace(event, **extra))  # type: ignore[arg-type]
        return event_id

    def user_edits(self, event_id: str, **changes: object) -> None:
        stored = self._events[event_id]
        self._put(replace(stored.event, **changes))  # type: ignore[arg-type]

    def user_deletes(self, event_id: str) -> None:
        self._version += 1
        event = self._events.pop(event_id).event
        self._events[event_id] = _Stored(event, self._version, True)

    def events(self) -> list[EventSnapshot]:
        return [s.event for s in self._events.values() if not s.deleted]

    # -- the port --------------------------------------------------------------------

    async def read_window(
        self, delta_link: str | None, window_start: datetime, window_end: datetime
    ) -> WindowRead:
        self._call()
        since = self._since(delta_link)
        rebaselined = since is None
        changed: list[EventChange] = []
        removed: list[str] = []
        for event_id, stored in self._changed_since(since):
            inside = self._inside(stored.event, window_start, window_end)
            if stored.deleted or not inside:
                if not rebaselined:
                    removed.append(event_id)  # Graph: "@removed" also for out-of-window
            else:
                changed.append(EventChange(event_id, _fields(stored.event)))
        pages = max(1, math.ceil((len(changed) + len(removed)) / self.page_size))
        for _ in range(pages):
            self.counter.record("GET", "/me/calendarView/delta", 200)
        link = f"fake-delta:{self._epoch}:{self._version}"
        return WindowRead(changed, removed, link, rebaselined, window_start, window_end)

    async def get_event(self, event_id: str) -> EventSnapshot | None:
        self._call()
        if not _well_formed(event_id):
            self.counter.record("GET", "/me/events/x", 400)
            raise MalformedEventId
        stored = self._events.get(event_id)
        found = stored is not None and not stored.deleted
        self.counter.record("GET", "/me/events/x", 200 if found else 404)
        return stored.event if stored is not None and not stored.deleted else None

    async def find_by_task_refs(self, task_refs: Sequence[str]) -> dict[str, EventSnapshot]:
        self._call()
        self._batches(len(task_refs))
        found: dict[str, EventSnapshot] = {}
        for event in sorted(self.events(), key=lambda e: e.id):
            ref = event.task_ref
            if ref is not None and ref in task_refs and ref not in found:
                found[ref] = event
        return found

    async def write_events(
        self, creates: Sequence[EventWrite], updates: Sequence[EventUpdate]
    ) -> tuple[list[WriteResult], list[WriteResult]]:
        self._call()
        self._batches(len(creates) + len(updates))
        return [self._create(w) for w in creates], [self._update(u) for u in updates]

    def _create(self, write: EventWrite) -> WriteResult:
        if self._throttled():
            return self._throttle_result()
        known = self._events.get(self._transactions.get(write.transaction_id or "", ""))
        if known is not None and not known.deleted:
            # Graph: a repeated transactionId creates nothing new (while it exists)
            return WriteResult(WriteStatus.OK, known.event)
        event = EventSnapshot(
            id=self._new_id(),
            subject=write.subject,
            body=_text(write.body_html),
            start=write.start.astimezone(UTC),
            end=write.end.astimezone(UTC),
            reminder_minutes=write.reminder_minutes,
            categories=write.categories,
            change_key="ck0",
            task_ref=write.task_ref,
            transaction_id=write.transaction_id,
        )
        self._put(event)
        if write.transaction_id:
            self._transactions[write.transaction_id] = event.id
        return WriteResult(WriteStatus.OK, self._events[event.id].event)

    def _update(self, update: EventUpdate) -> WriteResult:
        stored = self._events.get(update.event_id)
        if self._throttled():
            return self._throttle_result()
        if not _well_formed(update.event_id):
            return WriteResult(WriteStatus.BAD_ID, error="the stored Outlook event id is damaged")
        if stored is None or stored.deleted:
            return WriteResult(WriteStatus.GONE, error="deleted in Outlook")
        if update.change_key and update.change_key != stored.event.change_key:
            return WriteResult(WriteStatus.CONFLICT, error="changed in Outlook")
        w = update.write
        if isinstance(w, CategoriesWrite):
            self._put(replace(stored.event, categories=w.categories))
            return WriteResult(WriteStatus.OK, self._events[update.event_id].event)
        self._put(
            replace(
                stored.event,
                subject=w.subject,
                body=_text(w.body_html),
                start=w.start.astimezone(UTC),
                end=w.end.astimezone(UTC),
                reminder_minutes=w.reminder_minutes,
                categories=w.categories,
            )
        )
        return WriteResult(WriteStatus.OK, self._events[update.event_id].event)

    async def ensure_category(self, name: str, color: str) -> bool:
        self._call()
        self.counter.record("GET", "/me/outlook/masterCategories", 200)
        if any(n.casefold() == name.casefold() for n in self.categories):
            return False
        self.counter.record("POST", "/me/outlook/masterCategories", 201)
        self.categories[name] = color
        return True

    async def apply_category(
        self, name: str, color: str, known_id: str | None = None
    ) -> MasterCategory:
        """Ids are the names themselves, so a known id is one PATCH, as on Graph."""
        self._call()
        if known_id is not None:
            exists = known_id in self.categories
            self.counter.record("PATCH", "/me/outlook/masterCategories/x", 200 if exists else 404)
            if exists:
                self.categories[known_id] = color
                return MasterCategory(known_id, known_id, color)
        self.counter.record("GET", "/me/outlook/masterCategories", 200)
        found = next((n for n in self.categories if n.casefold() == name.casefold()), None)
        if found is None:
            self.counter.record("POST", "/me/outlook/masterCategories", 201)
            found = name
        elif self.categories[found] != color:
            self.counter.record("PATCH", "/me/outlook/masterCategories/x", 200)
        self.categories[found] = color
        return MasterCategory(found, found, color)

    # -- inside ----------------------------------------------------------------------

    def _call(self) -> None:
        if self.needs_sign_in:
            raise NeedsSignIn("the fake user's sign-in was revoked")
        if self._failures:
            raise self._failures.pop(0)

    def _batches(self, items: int) -> None:
        for _ in range(math.ceil(items / BATCH)):
            self.counter.record("POST", "/$batch", 200)

    def _throttled(self) -> bool:
        if self._not_done <= 0:
            return False
        self._not_done -= 1
        return True

    def _throttle_result(self) -> WriteResult:
        return WriteResult(WriteStatus.NOT_DONE, error="throttled", retry_at=self._not_done_until)

    def _new_id(self) -> str:
        self._ids += 1
        return f"fake-event-{self._ids}"

    def _put(self, event: EventSnapshot) -> None:
        self._version += 1
        old = self._events.pop(event.id, None)
        if old is not None:
            number = int(old.event.change_key.removeprefix("ck") or 0) + 1
            event = replace(event, change_key=f"ck{number}")
        # Kept in the order of their last change, so a delta read walks only the changes.
        self._events[event.id] = _Stored(event, self._version)

    def _changed_since(self, since: int | None) -> list[tuple[str, _Stored]]:
        """The events changed after version `since` (all of them for None), oldest change
        first — a walk back from the newest change, as long as a delta is (issue 12)."""
        if since is None:
            return list(self._events.items())
        newer = []
        for event_id, stored in reversed(self._events.items()):
            if stored.version <= since:
                break
            newer.append((event_id, stored))
        return newer[::-1]

    def _since(self, link: str | None) -> int | None:
        if link is None:
            return None
        _, epoch, version = link.split(":")
        return int(version) if int(epoch) == self._epoch else None

    @staticmethod
    def _inside(event: EventSnapshot, start: datetime, end: datetime) -> bool:
        if event.start is None or event.end is None:
            return True
        return event.start < end and event.end > start
