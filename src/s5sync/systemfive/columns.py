"""Every column of a System Five row, read defensively (R23).

The reference schema (SPEC.md) says what each column holds, but the database need not
enforce it: SQLite keeps any value in any column (a BLOB title, `'soon'` in
`alarm_minutes`), another tool may write what System Five's screens never do, and stored
bytes need not be UTF-8 (the SQLite connection decodes text leniently,
`lenient_text`, so one bad row cannot fail the whole read). So no column is trusted:

- text that arrives as bytes is decoded; bytes that are not UTF-8 read as U+FFFD;
- a number that arrives as text or bytes of digits is read as the number;
- a value with no sensible reading makes the row unreadable (`UnreadableTask`): the
  rules skip it with the reason, once, and never take it as deleted (R6, R11b).

Every adaptation is a sentence (`Columns.notes`), so the activity log can say what was
read differently from what was stored. Nothing here raises anything but `UnreadableTask`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from s5sync.core.characters import has_surrogates
from s5sync.systemfive.errors import UnreadableTask

REPLACEMENT = "\ufffd"
# What `lenient_text` makes of a byte that is not UTF-8 (PEP 383's surrogateescape).
_ESCAPED = range(0xDC80, 0xDD00)


def lenient_text(raw: bytes) -> str:
    """SQLite's text factory: invalid UTF-8 kept as escaped surrogates for `Columns` to
    report, instead of sqlite3's OperationalError that would fail the whole statement."""
    return raw.decode("utf-8", "surrogateescape")


def _clean(text: str) -> tuple[str, bool]:
    """`text` with every undecodable byte (or lone surrogate) as U+FFFD; whether any was."""
    if not has_surrogates(text):  # decided in C (core/characters.py, issue 25)
        return text, False
    return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text), True


class Columns:
    """One row's columns read as the schema says they are, with what had to be adapted."""

    def __init__(self, row: Mapping[str, Any], task_id: int | str) -> None:
        self.row = row
        self.task_id = task_id
        self.notes: list[str] = []

    def unreadable(self, text: str) -> UnreadableTask:
        return UnreadableTask(f"task {self.task_id}: {text}")

    def optional_text(self, name: str, what: str) -> str | None:
        value = self.row[name]
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            value = bytes(value).decode("utf-8", "surrogateescape")
            self.notes.append(f"{what} was stored as bytes: read as text")
        elif not isinstance(value, str):
            value = str(value)
            self.notes.append(f"{what} was stored as a {type(self.row[name]).__name__}")
        text, replaced = _clean(value)
        if replaced:
            self.notes.append(f"{what} is not valid UTF-8: the bad bytes read as {REPLACEMENT}")
        return text

    def text(self, name: str, what: str) -> str:
        return self.optional_text(name, what) or ""

    def optional_integer(self, name: str, what: str) -> int | None:
        """The column as an integer; None when empty; UnreadableTask when not a number."""
        value = self.row[name]
        if value is None:
            return None
        if isinstance(value, int):
            return int(value)  # a bool is 0 or 1
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bytes | bytearray | memoryview | str):
            text = value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
            try:
                return int(text.strip())
            except ValueError:
                pass
        raise self.unreadable(f"{what} {_shown(value)} is not a whole number")

    def optional_integer_or_none(self, name: str) -> int | None:
        """The column as an integer, or None when it is empty or not a number."""
        try:
            return self.optional_integer(name, name)
        except UnreadableTask:
            return None

    def integer(self, name: str, what: str) -> int:
        number = self.optional_integer(name, what)
        if number is None:
            raise self.unreadable(f"{what} is empty")
        return number

    def flag(self, name: str, what: str) -> bool:
        """A 0/1 column; anything else makes the row unreadable (never a guessed tick)."""
        number = self.optional_integer(name, what)
        if number not in (0, 1):
            raise self.unreadable(f"{what} {_shown(self.row[name])} is neither 0 nor 1")
        return number == 1

    def wall_time(self, name: str, what: str) -> datetime:
        """A wall-clock time (`2026-11-25T14:30:00`); an offset, if any, is ignored."""
        value = self.row[name]
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        text = self.optional_text(name, what)
        try:
            return datetime.fromisoformat(text or "").replace(tzinfo=None)
        except ValueError:
            raise self.unreadable(f"{what} {_shown(value)} is not a date and time") from None


def _shown(value: object) -> str:
    """A bad value as the activity log shows it: short, and never raw bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"({len(bytes(value))} bytes)"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
