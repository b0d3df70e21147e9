"""Wall-clock ↔ UTC in the store's zone, with DST gaps and folds reported (R9, R23).

System Five stores wall-clock times without offset. A wall time inside a spring-forward
gap does not exist: it moves forward by the gap. A wall time inside a fall-back fold
happens twice: the first occurrence (`fold=0`) is taken. Both are reported so the
activity log can say so (DESIGN.md "Traps already known").

Outlook names zones the Windows way ("Eastern Standard Time"); the mapping to IANA names
is CLDR's windowsZones table as tzlocal ships it (`tzlocal.windows_tz`). All-day events
are dates, not instants (R12c): they become tasks from 00:00 of the first day to 00:00
after the last day in the store's zone, so such a task lasts 23 or 25 hours across a DST
change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz


class UnknownTimeZone(ValueError):
    """The zone name is not an IANA zone this machine's tzdata knows."""


@dataclass(frozen=True)
class Converted:
    """A UTC instant and, when the wall time was adapted, a sentence saying how."""

    utc: datetime
    note: str | None = None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"unknown time zone {name!r}") from None


def wall_to_utc(wall: datetime, zone_name: str) -> Converted:
    """Convert a naive wall-clock time in `zone_name` to UTC."""
    tz = zone(zone_name)
    local = wall.replace(tzinfo=tz, fold=0)
    back = local.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != wall:
        # R23: in the spring-forward gap — the wall time does not exist.
        moved = local.astimezone(UTC)
        return Converted(
            moved,
            f"{wall:%Y-%m-%d %H:%M} does not exist in {zone_name} (clocks go forward); "
            f"taken as {moved.astimezone(tz):%H:%M}",
        )
    other = wall.replace(tzinfo=tz, fold=1)
    if other.utcoffset() != local.utcoffset():
        return Converted(
            local.astimezone(UTC),
            f"{wall:%Y-%m-%d %H:%M} happens twice in {zone_name} (clocks go back); "
            "taken as the first",
        )
    return Converted(local.astimezone(UTC))


def utc_to_wall(instant: datetime, zone_name: str) -> datetime:
    """Convert an aware instant to a naive wall-clock time in `zone_name`."""
    return instant.astimezone(zone(zone_name)).replace(tzinfo=None)


def windows_to_iana(windows_name: str) -> str:
    """The IANA zone for a Windows zone name (CLDR windowsZones, territory 001)."""
    try:
        return str(win_tz[windows_name])
    except KeyError:
        raise UnknownTimeZone(f"unknown Windows time zone {windows_name!r}") from None


def iana_to_windows(iana_name: str) -> str:
    """The Windows zone name Outlook uses for an IANA zone."""
    try:
        return str(tz_win[iana_name])
    except KeyError:
        raise UnknownTimeZone(f"no Windows time zone for {iana_name!r}") from None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)  # noqa: DTZ001 - a wall time, by design


def all_day_span(
    first_day: date, day_after_last: date, zone_name: str
) -> tuple[Converted, Converted]:
    """R12c: 00:00 of the first day to 00:00 after the last day, store time, in UTC.

    Midnight itself can fall in a DST gap in a few zones (e.g. America/Santiago); the
    notes of the returned values say so.
    """
    start = wall_to_utc(_midnight(first_day), zone_name)
    end = wall_to_utc(_midnight(day_after_last), zone_name)
    return start, end
