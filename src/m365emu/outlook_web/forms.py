"""The event form of the Outlook page, turned into the same request body a Graph client
would send (so `graph.events.payload` validates both alike), and back.

Times in the form are wall times in the page's zone; the body textarea takes text (line
breaks kept, links made clickable on display) and is stored as HTML, which Exchange
sanitises like any other HTML body.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from m365emu.graph.events import bodies, timezones
from m365emu.graph.events.models import StoredEvent

REMINDERS = [
    (-1, "None"),
    (0, "At start"),
    (5, "5 minutes"),
    (15, "15 minutes"),
    (30, "30 minutes"),
    (60, "1 hour"),
    (1440, "1 day"),
]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass
class EventForm:
    subject: str = ""
    start: str = ""  # "YYYY-MM-DDTHH:MM" (datetime-local)
    end: str = ""
    all_day: bool = False
    body: str = ""
    location: str = ""
    reminder: int = 15
    categories: list[str] = field(default_factory=list)
    repeat: str = "none"  # none | daily | weekly
    interval: int = 1
    until: str = ""  # "YYYY-MM-DD" or empty
    count: str = ""  # number of occurrences or empty

    @staticmethod
    def from_form(data: dict[str, Any], categories: list[str]) -> EventForm:
        def text(name: str) -> str:
            value = data.get(name, "")
            return value if isinstance(value, str) else ""

        chosen = [c for c in categories if data.get(f"category-{c}")]
        extra = [c.strip() for c in text("new_categories").split(",") if c.strip()]
        try:
            reminder = int(text("reminder") or "15")
        except ValueError:
            reminder = 15
        try:
            interval = max(1, int(text("interval") or "1"))
        except ValueError:
            interval = 1
        return EventForm(
            subject=text("subject"),
            start=text("start"),
            end=text("end"),
            all_day=bool(data.get("all_day")),
            body=text("body"),
            location=text("location").strip(),
            reminder=reminder,
            categories=list(dict.fromkeys(chosen + extra)),
            repeat=text("repeat") or "none",
            interval=interval,
            until=text("until"),
            count=text("count"),
        )

    @staticmethod
    def from_event(event: StoredEvent, zone: str) -> EventForm:
        text = bodies.html_to_text(event.body) if event.body_type == "html" else event.body
        form = EventForm(
            subject=event.subject,
            start=timezones.wall(event.start, zone).strftime("%Y-%m-%dT%H:%M"),
            end=timezones.wall(event.end, zone).strftime("%Y-%m-%dT%H:%M"),
            all_day=event.is_all_day,
            body=text.replace("\r\n", "\n"),
            location=str((event.location or {}).get("displayName") or ""),
            reminder=event.reminder_minutes if event.is_reminder_on else -1,
            categories=list(event.categories),
        )
        if event.recurrence:
            form.repeat = event.recurrence["pattern"]["type"]
            form.interval = event.recurrence["pattern"]["interval"]
            rng = event.recurrence["range"]
            form.until = rng["endDate"] if rng["type"] == "endDate" else ""
            form.count = str(rng["numberOfOccurrences"]) if rng["type"] == "numbered" else ""
        return form

    def to_graph(self, zone: str, series_allowed: bool) -> dict[str, Any]:
        """The Graph request body for this form (validated later by the event store)."""
        start, end = self.start, self.end
        if self.all_day:
            # All-day events run from midnight to midnight (the midnight rule, event.md).
            start_day = start[:10]
            end_day = end[:10] or start_day
            if end_day <= start_day:
                end_day = _next_day(start_day)
            start, end = f"{start_day}T00:00", f"{end_day}T00:00"
        escaped = html.escape(self.body).replace("\n", "<br>")
        payload: dict[str, Any] = {
            "subject": self.subject,
            "body": {"contentType": "html", "content": escaped},
            "start": {"dateTime": start, "timeZone": zone},
            "end": {"dateTime": end, "timeZone": zone},
            "isAllDay": self.all_day,
            "isReminderOn": self.reminder >= 0,
            "reminderMinutesBeforeStart": max(self.reminder, 0),
            "categories": self.categories,
            "location": {"displayName": self.location},
        }
        if series_allowed:
            payload["recurrence"] = self._recurrence(start[:10])
        return payload

    def _recurrence(self, start_day: str) -> dict[str, Any] | None:
        if self.repeat not in ("daily", "weekly"):
            return None
        pattern: dict[str, Any] = {"type": self.repeat, "interval": self.interval}
        if self.repeat == "weekly":
            try:
                weekday = datetime.fromisoformat(start_day).weekday()
            except ValueError:
                weekday = 0
            pattern["daysOfWeek"] = [WEEKDAYS[weekday]]
        rng: dict[str, Any] = {"type": "noEnd", "startDate": start_day}
        if self.until:
            rng = {"type": "endDate", "startDate": start_day, "endDate": self.until}
        elif self.count.isdigit() and int(self.count) > 0:
            rng = {
                "type": "numbered",
                "startDate": start_day,
                "numberOfOccurrences": int(self.count),
            }
        return {"pattern": pattern, "range": rng}


def _next_day(day: str) -> str:
    try:
        return (datetime.fromisoformat(day) + timedelta(days=1)).strftime("%Y-%m-%d")
    except ValueError:
        return day
