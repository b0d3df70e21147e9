"""What the Outlook page shows: events of a week or of an agenda span, as display rows in
the page's time zone, with bodies sanitised by nh3 and bare URLs made into links (issue 4
item 5: "body (sanitised, links clickable)")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import nh3
from bs4 import BeautifulSoup
from bs4.element import NavigableString
from markupsafe import Markup

from m365emu.graph.events import bodies, timezones
from m365emu.graph.events.models import StoredEvent
from m365emu.graph.master_categories.models import color_hex
from m365emu.graph.state import Mailbox

_URL = re.compile(r"(https?://[^\s<>\"']+)")


@dataclass
class EventRow:
    id: str
    subject: str
    when: str
    colour: str
    categories: list[str]
    body: Markup
    kind: str
    series_master_id: str | None
    location: str = ""


@dataclass
class DayColumn:
    day: date
    rows: list[EventRow]


def sanitised_body(event: StoredEvent) -> Markup:
    if event.body_type == "html":
        inner = bodies.inner_html(event.body)
    else:
        inner = nh3.clean_text(event.body).replace("\n", "<br>")
    soup = BeautifulSoup(nh3.clean(inner), "html.parser")
    for text in list(soup.find_all(string=True)):
        if not isinstance(text, NavigableString) or text.find_parent("a") is not None:
            continue
        if _URL.search(str(text)):
            linked = _URL.sub(r'<a href="\1">\1</a>', str(text))
            text.replace_with(BeautifulSoup(linked, "html.parser"))
    return Markup(nh3.clean(str(soup), link_rel="noopener noreferrer"))  # noqa: S704 - nh3-cleaned


def row(event: StoredEvent, box: Mailbox, zone: str) -> EventRow:
    start, end = timezones.wall(event.start, zone), timezones.wall(event.end, zone)
    when = "All day" if event.is_all_day else f"{start:%H:%M}–{end:%H:%M}"
    colour = "#c8c6c4"
    for name in event.categories:
        category = box.categories.by_name(name)
        if category is not None:
            colour = color_hex(category.color)
            break
    return EventRow(
        event.id,
        event.subject or "(No title)",
        when,
        colour,
        list(event.categories),
        sanitised_body(event),
        event.kind,
        event.series_master_id,
        str((event.location or {}).get("displayName") or ""),
    )


def days(box: Mailbox, zone: str, first: date, count: int) -> list[DayColumn]:
    tz = timezones.zone(zone)
    columns = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tz)
        events = [
            e
            for e in box.events.instances(start, end)
            if not (e.is_all_day and e.end <= start) and e.start < end
        ]
        events.sort(key=lambda e: (not e.is_all_day, e.start))
        columns.append(DayColumn(day, [row(e, box, zone) for e in events]))
    return columns


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
