"""Time zones as Graph reads and writes them (resources/datetimetimezone.md; graph.md §7).

`dateTimeTimeZone.timeZone` accepts Windows names ("Pacific Standard Time", "UTC") and IANA
names. Graph documents a list of about 100 accepted IANA names; the emulator accepts every
IANA name the tz database knows (a superset: a client that works here may still meet a
refusal from Graph for an exotic IANA name). Windows names map through CLDR's table
(tzlocal.windows_tz). Responses carry `dateTime` with exactly 7 fractional digits and no
offset; requests may send fewer digits, no digits, or a bare date (accepted for all-day
events, as Graph does).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from m365emu.graph.common.errors import GraphError, bad_request

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_UTC_NAMES = {"utc", "etc/utc", "etc/gmt", "gmt", "z", "coordinated universal time"}


def timezone_not_supported(name: str) -> GraphError:
    # The code and message Graph answers for an unknown zone name.
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is not "
        f"supported: '{name}'.",
    )


@lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo | None:
    if name.strip().lower() in _UTC_NAMES:
        return UTC
    iana = win_tz.get(name.strip())
    if iana is None and "/" not in name:
        return None
    try:
        return ZoneInfo(iana or name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone(name: str) -> tzinfo:
    """The zone for a Windows or IANA name, or Graph's 400."""
    found = _zone(name) if name else None
    if found is None:
        raise timezone_not_supported(name)
    return found


def known_zone(name: str) -> bool:
    return bool(name) and _zone(name) is not None


def parse_local(value: str) -> tuple[datetime, bool]:
    """A request's `dateTime`: the naive wall time, and whether it carried an offset (then
    the returned datetime is aware)."""
    match = _DATETIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTime'."
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(7, "0")[:6])
    try:
        moment = datetime(  # noqa: DTZ001 - wall time; the zone comes from `timeZone`
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
        )
    except ValueError:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTime'."
        ) from None
    if offset:
        text = "+00:00" if offset == "Z" else offset
        sign = 1 if text[0] == "+" else -1
        digits = text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise bad_request(
                f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTime'."
            )
        return moment.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes))), True
    return moment, False


def to_utc(value: str, zone_name: str) -> datetime:
    """A dateTimeTimeZone from a request body as an aware UTC instant."""
    moment, has_offset = parse_local(value)
    if has_offset:
        return moment.astimezone(UTC)
    try:
        return moment.replace(tzinfo=zone(zone_name)).astimezone(UTC)
    except OverflowError:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTime'."
        ) from None


def query_instant(value: str | None, name: str) -> datetime:
    """calendarView bounds: an offset in the value wins; without one the value is UTC
    (user-list-calendarview.md), whatever `Prefer: outlook.timezone` says."""
    if value is None or not value.strip():
        raise bad_request(
            f"This request requires a time window specified by the query string parameters "
            f"StartDateTime and EndDateTime. ({name} is missing.)",
            code="ErrorInvalidParameter",
        )
    moment, has_offset = parse_local(value)
    try:
        return moment.astimezone(UTC) if has_offset else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise bad_request(f"Invalid value '{value}' for query option '{name}'.") from None


def wall(instant: datetime, zone_name: str) -> datetime:
    try:
        return instant.astimezone(zone(zone_name))
    except OverflowError:
        return instant


def graph_datetime(instant: datetime, zone_name: str) -> str:
    """`2017-04-15T11:00:00.0000000` in the named zone (7 digits, no offset)."""
    local = wall(instant, zone_name)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0"


def offset_datetime(instant: datetime) -> str:
    """DateTimeOffset as Graph writes it (createdDateTime, lastModifiedDateTime,
    originalStart, expirationDateTime): UTC, `Z`, at most 7 fractional digits with the
    trailing zeros trimmed and no point when none is left (.NET's `FFFFFFF`), as
    user-post-events.md's example writes `2017-04-15T03:00:51.245372Z` next to
    `…50.7579581Z` and responseStatus writes `0001-01-01T00:00:00Z` (issue 24 item 5).
    Clients must read any number of digits."""
    utc = instant.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}0".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def local_date(instant: datetime, zone_name: str) -> date:
    return wall(instant, zone_name).date()
