"""Wall-clock ↔ UTC in the store's zone, with DST gaps and folds reported (R9, R23).

System Five stores wall-clock times without offset. A wall time inside a spring-forward
gap does not exist: it moves forward by the gap. A wall time inside a fall-back fold
happens twice: the first occurrence (`fold=0`) is taken. Both are reported so the
activity log can say so (DESIGN.md "Traps already known").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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
