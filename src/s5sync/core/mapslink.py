"""The Google Maps directions block in a pushed event's body (R4, R12).

R4 picks the address: a *Delivery* task goes to its Ship To address (Bill To when there
is none), a *Customer* task to its Bill To address (the connector already chose the
lowest id of each kind). The link is
`https://www.google.com/maps/search/?api=1&query=<url-encoded one-line address>`
(Google's "Maps URLs" search action).

R12 needs the block found and removed again when a tagged pushed event comes back, and
Exchange rewrites the HTML we send (wrappers, attributes, entities). So the block is
recognised in the *text* a reader sees, by a sentinel line that survives any rewriting
and the maps URL on the line after it:

    <notes>
    (blank line)
    — Directions (s5sync) —
    https://www.google.com/maps/search/?api=1&query=…

`strip_block` removes the last such block and is the inverse of `build_text` for any
text (a property test holds it to that); `build_html` is `build_text` written as HTML, so
`strip_block(html_to_text(build_html(t, a))) == normalise_text(t)`.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote_plus

from s5sync.core.html_text import text_to_html
from s5sync.core.snapshots import Address, TaskKind, TaskSnapshot

SENTINEL = "— Directions (s5sync) —"
MAPS_SEARCH = "https://www.google.com/maps/search/?api=1&query="
SEPARATOR = "\n\n"


def chosen_address(task: TaskSnapshot) -> Address | None:
    """R4: Delivery → Ship To, else Bill To; Customer → Bill To; other kinds → none."""
    if task.kind is TaskKind.DELIVERY:
        return task.ship_to or task.bill_to
    if task.kind is TaskKind.CUSTOMER:
        return task.bill_to
    return None


def one_line(address: Address) -> str:
    """The address on one line: `line1, line2, city, region postal, country`."""
    region_postal = " ".join(part for part in (address.region, address.postal_code) if part)
    parts = (address.line1, address.line2, address.city, region_postal, address.country)
    tidy = (" ".join(part.split()) for part in parts)
    return ", ".join(part for part in tidy if part)


def maps_url(address_line: str) -> str:
    """R4: the Google Maps search URL for a one-line address."""
    return MAPS_SEARCH + quote_plus(address_line)


def task_maps_url(task: TaskSnapshot) -> str | None:
    """R4: the task's maps URL, or None when it has no usable address."""
    line = task_location(task)
    return None if line is None else maps_url(line)


def task_location(task: TaskSnapshot) -> str | None:
    """R4b: the one-line address the maps link searches, as the event's location."""
    address = chosen_address(task)
    line = one_line(address) if address is not None else ""
    return line or None


def build_text(notes: str, url: str) -> str:
    """R4: the notes followed by the directions block, as plain text."""
    block = f"{SENTINEL}\n{url}"
    return f"{notes}{SEPARATOR}{block}" if notes else block


def build_html(notes: str, url: str | None) -> str:
    """R4: the event body: the notes as HTML, then the directions block when there is one."""
    body = text_to_html(notes)
    if url is None:
        return body
    link = escape(url)
    block = f'<div class="s5sync-directions">{SENTINEL}<br><a href="{link}">{link}</a></div>'
    return f"{body}<br><br>{block}" if notes else block


def strip_block(text: str) -> str:
    """R12: the text without its last directions block (unchanged when there is none)."""
    search_end = len(text)
    while True:
        at = text.rfind(SENTINEL, 0, search_end)
        if at < 0:
            return text
        after = text[at + len(SENTINEL) :]
        if after.startswith("\n"):
            url_line, newline, rest = after[1:].partition("\n")
            if url_line.startswith(MAPS_SEARCH) and not any(c.isspace() for c in url_line):
                head = text[:at]
                head = head[: -len(SEPARATOR)] if head.endswith(SEPARATOR) else head.rstrip()
                return head + (newline + rest if rest.strip() else "")
        search_end = at
