"""Recurring series: the patternedRecurrence a client sends, and its expansion into
occurrence start times (resources/patternedrecurrence.md, recurrencepattern.md,
recurrencerange.md).

Emulated: `daily` and `weekly` patterns (interval, daysOfWeek, firstDayOfWeek) with
`endDate`, `numbered` and `noEnd` ranges. Occurrences keep the master's wall-clock time in
the recurrence time zone (so they move in UTC across a DST change, as Outlook's do).
Not emulated: monthly and yearly patterns (refused with 400 so a client never silently
gets a wrong series). A series expands to at most 50,000 occurrences per query.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from m365emu.graph.common.errors import GraphError, bad_request
from m365emu.graph.events import timezones

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_OCCURRENCES = 50_000
_NO_DATE = "0001-01-01"


def invalid_recurrence(message: str) -> GraphError:
    return bad_request(message, code="ErrorInvalidRecurrence")


@dataclass(frozen=True)
class Recurrence:
    pattern_type: str
    interval: int
    days_of_week: tuple[str, ...]
    first_day_of_week: str
    range_type: str
    start_date: date
    end_date: date | None
    count: int
    zone_name: str

    @staticmethod
    def from_json(value: Any, master_start: datetime, master_zone: str) -> Recurrence:
        if not isinstance(value, dict):
            raise invalid_recurrence("The recurrence must be an object.")
        pattern, rng = value.get("pattern"), value.get("range")
        if not isinstance(pattern, dict) or not isinstance(rng, dict):
            raise invalid_recurrence("A recurrence needs both a pattern and a range.")
        kind = pattern.get("type")
        if kind not in ("daily", "weekly"):
            raise invalid_recurrence(
                f"Recurrence pattern type '{kind}' is not supported by the emulator."
            )
        interval = pattern.get("interval", 1)
        if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 999:
            raise invalid_recurrence("The recurrence pattern interval must be between 1 and 999.")
        days_raw = pattern.get("daysOfWeek") or []
        if not isinstance(days_raw, list) or not all(isinstance(d, str) for d in days_raw):
            raise invalid_recurrence("daysOfWeek must be a list of day names.")
        days = tuple(
            sorted({d.lower() for d in days_raw}, key=lambda d: DAYS.index(d) if d in DAYS else 9)
        )
        if any(d not in DAYS for d in days):
            raise invalid_recurrence("daysOfWeek holds an unknown day.")
        if kind == "weekly" and not days:
            raise invalid_recurrence("A weekly pattern needs daysOfWeek.")
        first = str(pattern.get("firstDayOfWeek") or "sunday").lower()
        if first not in DAYS:
            raise invalid_recurrence("firstDayOfWeek is not a day.")
        range_type = rng.get("type")
        if range_type not in ("endDate", "noEnd", "numbered"):
            raise invalid_recurrence(f"Recurrence range type '{range_type}' is not valid.")
        zone_name = rng.get("recurrenceTimeZone") or master_zone
        if not isinstance(zone_name, str):
            raise invalid_recurrence("recurrenceTimeZone must be a string.")
        timezones.zone(zone_name)
        start_date = _date(rng.get("startDate"), "startDate") or timezones.local_date(
            master_start, zone_name
        )
        end_date = _date(rng.get("endDate"), "endDate") if range_type == "endDate" else None
        if range_type == "endDate" and (end_date is None or end_date < start_date):
            raise invalid_recurrence("The recurrence range needs an endDate on or after startDate.")
        count = rng.get("numberOfOccurrences", 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise invalid_recurrence("numberOfOccurrences must be a positive number.")
        if range_type == "numbered" and count < 1:
            raise invalid_recurrence("A numbered range needs numberOfOccurrences of at least 1.")
        return Recurrence(
            kind, interval, days, first, range_type, start_date, end_date, count, zone_name
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": {
                "type": self.pattern_type,
                "interval": self.interval,
                "month": 0,
                "dayOfMonth": 0,
                "daysOfWeek": list(self.days_of_week),
                "firstDayOfWeek": self.first_day_of_week,
                "index": "first",
            },
            "range": {
                "type": self.range_type,
                "startDate": self.start_date.isoformat(),
                "endDate": self.end_date.isoformat() if self.end_date else _NO_DATE,
                "recurrenceTimeZone": self.zone_name,
                "numberOfOccurrences": self.count if self.range_type == "numbered" else 0,
            },
        }

    def dates(self) -> Iterator[date]:
        """Occurrence dates in order, honouring the range (unbounded for noEnd)."""
        for produced, day in enumerate(self._candidates()):
            if self.end_date is not None and day > self.end_date:
                return
            if self.range_type == "numbered" and produced >= self.count:
                return
            if produced >= MAX_OCCURRENCES:
                return
            yield day

    def _candidates(self) -> Iterator[date]:
        step = 0
        if self.pattern_type == "daily":
            while True:
                try:
                    yield self.start_date + timedelta(days=step * self.interval)
                except OverflowError:
                    return
                step += 1
        first = DAYS.index(self.first_day_of_week)
        week_start = self.start_date - timedelta(days=(self.start_date.weekday() - first) % 7)
        offsets = sorted((DAYS.index(d) - first) % 7 for d in self.days_of_week)
        while True:
            try:
                base = week_start + timedelta(days=7 * self.interval * step)
            except OverflowError:
                return
            for offset in offsets:
                try:
                    day = base + timedelta(days=offset)
                except OverflowError:
                    return
                if day >= self.start_date:
                    yield day
            step += 1

    def starts(self, master_start: datetime) -> Iterator[datetime]:
        """UTC start instants, keeping the master's wall-clock time in the series zone."""
        tz = timezones.zone(self.zone_name)
        clock = master_start.astimezone(tz).time()
        for day in self.dates():
            local = datetime.combine(day, time(clock.hour, clock.minute, clock.second), tz)
            try:
                yield local.astimezone(UTC)
            except OverflowError:
                return


def _date(value: Any, name: str) -> date | None:
    if value is None or value == _NO_DATE:
        return None
    if not isinstance(value, str):
        raise invalid_recurrence(f"{name} must be a date.")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise invalid_recurrence(f"{name} must be a date.") from None
