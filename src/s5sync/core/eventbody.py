"""s5sync's own part of a pushed event's body, and the user's text around it (R4, R5b, R12).

R5b: s5sync owns the task's notes and the R4 directions block, inside a block it can
recognise; text the user types above or below that block is theirs and survives every
update. Exchange rewrites the HTML we send, so — as for the directions (mapslink.py) —
the block is found in the *text* a reader sees, by two sentinel lines:

    <the user's text, if any>
    — From System Five (s5sync) —
    <notes>
    (blank line)
    — Directions (s5sync) —
    https://www.google.com/maps/search/?api=1&query=…
    — End of System Five text —
    <the user's text, if any>

An event pushed before the block had its start line (legacy) owned everything up to the
end of its directions block; the text after the maps URL line is the user's. With no
marker at all the whole body was s5sync's notes.

R12: when a tagged pushed event comes back, `imported_notes` takes the block's notes and
the user's text, without sentinels or directions, so nothing piles up; and a push keeps a
piece of the user's text only while the task's notes do not hold it already (it was
imported into them), so it is never shown twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from s5sync.core.html_text import normalise_text, text_to_html
from s5sync.core.mapslink import MAPS_SEARCH, SENTINEL, build_html, build_text, strip_block

START = "— From System Five (s5sync) —"
END = "— End of System Five text —"


@dataclass(frozen=True)
class UserText:
    """The user's text outside s5sync's block: above it and below it (R5b)."""

    before: str = ""
    after: str = ""


def _legacy_after(text: str) -> str:
    """The text after the last directions block's URL line (pre-R5b events)."""
    at = text.rfind(SENTINEL)
    if at < 0:
        return ""
    rest = text[at + len(SENTINEL) :].lstrip("\n")
    url_line, _, after = rest.partition("\n")
    return after.strip() if url_line.startswith(MAPS_SEARCH) else ""


def _split(text: str) -> tuple[str, str, str] | None:
    """(before, inside, after) of the block in normalised text; None with no block."""
    start = text.find(START)
    end = text.find(END, start + len(START) if start >= 0 else 0)
    if start < 0 and end < 0:
        return None
    if start < 0:  # the start line was deleted: everything before the end line is ours
        return "", text[:end], text[end + len(END) :]
    if end < 0:  # the end line was deleted: everything after the start line is ours
        return text[:start], text[start + len(START) :], ""
    return text[:start], text[start + len(START) : end], text[end + len(END) :]


def user_text(body: str) -> UserText:
    """R5b: what the user typed outside s5sync's block, in a body's normalised text."""
    text = normalise_text(body)
    parts = _split(text)
    if parts is None:
        return UserText(after=_legacy_after(text))
    before, _, after = parts
    return UserText(before.strip(), after.strip())


def imported_notes(body: str) -> str:
    """R12: a tagged pushed event's body as task notes: no sentinels, no directions."""
    text = normalise_text(body)
    parts = _split(text)
    if parts is None:
        return strip_block(text)
    before, inside, after = (normalise_text(part) for part in parts)
    pieces = (before, strip_block(inside), after)
    return "\n\n".join(piece for piece in pieces if piece)


def owned_text(notes: str, url: str | None) -> str:
    """The block as plain text (what a reader sees of `body_html`'s block)."""
    inner = build_text(notes, url) if url is not None else notes
    return "\n".join(line for line in (START, inner, END) if line)


def body_html(notes: str, url: str | None, around: UserText = UserText()) -> str:
    """R4, R5b: the event body — the user's text kept around s5sync's block.

    A piece of the user's text already inside the notes (imported, R12) is not repeated.
    """
    block = f"<div>{START}</div><div>{build_html(notes, url)}</div><div>{END}</div>"
    if not build_html(notes, url):
        block = f"<div>{START}</div><div>{END}</div>"
    kept = [
        piece if piece and piece not in notes else "" for piece in (around.before, around.after)
    ]
    before, after = (text_to_html(piece) for piece in kept)
    return (
        (f"<div>{before}</div><br>" if before else "")
        + f'<div class="s5sync">{block}</div>'
        + (f"<br><div>{after}</div>" if after else "")
    )
