"""Recurrence expansion and time-zone handling of the emulator's events (issue 5 item 2;
patternedrecurrence.md, datetimetimezone.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from m365emu.graph.common.errors import GraphError
from m365emu.graph.events import timezones
from m365emu.graph.events.recurrence import Recurrence

START = datetime(2027, 3, 22, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


def weekly(**range_: object) -> Recurrence:
    return Recurrence.from_json(
        {
            "pattern": {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["Monday", "thursday"],
                "firstDayOfWeek": "monday",
            },
            "range": {"startDate": "2027-03-22", **range_},
        },
        START,
        "W. Europe Standard Time",
    )


def test_weekly_series_keeps_wall_time_across_dst_and_skips_odd_weeks() -> None:
    series = weekly(type="numbered", numberOfOccurrences=4)
    starts = list(series.starts(START))
    assert [s.date() for s in starts] == [
        date(2027, 3, 22),
        date(2027, 3, 25),
        date(2027, 4, 5),
        date(2027, 4, 8),
    ]
    # Europe moves to summer time on 2027-03-28: 09:00 local is 07:00 UTC afterwards.
    assert [s.hour for s in starts] == [8, 8, 7, 7]


def test_end_date_range_stops_on_its_last_day() -> None:
    series = weekly(type="endDate", endDate="2027-04-05")
    assert [s.date() for s in series.starts(START)][-1] == date(2027, 4, 5)


def test_daily_interval_and_to_json_round_trip() -> None:
    series = Recurrence.from_json(
        {
            "pattern": {"type": "daily", "interval": 3},
            "range": {"type": "numbered", "numberOfOccurrences": 3},
        },
        START,
        "UTC",
    )
    assert [s.day for s in series.starts(START)] == [22, 25, 28]
    again = Recurrence.from_json(series.to_json(), START, "UTC")
    assert again == series


@pytest.mark.parametrize(
    "broken",
    [
        {"pattern": {"type": "absoluteMonthly", "interval": 1}, "range": {"type": "noEnd"}},
        {"pattern": {"type": "weekly", "interval": 1}, "range": {"type": "noEnd"}},
        {"pattern": {"type": "daily", "interval": 0}, "range": {"type": "noEnd"}},
        {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "numbered"}},
        {
            "pattern": {"type": "daily"},
            "range": {"type": "endDate", "startDate": "2027-03-22", "endDate": "2027-03-01"},
        },
    ],
)
def test_unsupported_or_inconsistent_recurrences_are_400(broken: dict[str, object]) -> None:
    with pytest.raises(GraphError) as refused:
        Recurrence.from_json(broken, START, "UTC")
    assert refused.value.status == 400


def test_windows_and_iana_names_resolve_and_unknown_is_refused() -> None:
    assert timezones.to_utc("2026-12-01T12:00:00", "Pacific Standard Time") == datetime(
        2026, 12, 1, 20, 0, tzinfo=UTC
    )
    assert timezones.to_utc("2026-12-01T12:00:00", "America/Los_Angeles").hour == 20
    with pytest.raises(GraphError) as refused:
        timezones.zone("Mars Standard Time")
    assert refused.value.code == "TimeZoneNotSupportedException"


def test_graph_datetime_has_seven_fraction_digits_and_no_offset() -> None:
    instant = datetime(2026, 12, 1, 11, 0, 0, 123456, tzinfo=UTC)
    assert timezones.graph_datetime(instant, "UTC") == "2026-12-01T11:00:00.1234560"
    assert timezones.graph_datetime(instant, "Tokyo Standard Time") == "2026-12-01T20:00:00.1234560"


def test_calendar_view_bounds_without_offset_are_utc_and_with_offset_use_it() -> None:
    assert timezones.query_instant("2020-01-01T19:00:00", "s") == datetime(
        2020, 1, 1, 19, tzinfo=UTC
    )
    assert timezones.query_instant("2020-01-01T19:00:00-08:00", "s") == datetime(
        2020, 1, 2, 3, tzinfo=UTC
    )
