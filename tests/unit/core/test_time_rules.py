"""Time zones: wall clock ↔ UTC, Windows ↔ IANA names, all-day spans (R9, R12c, R23)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from s5sync.core.timezones import (
    UnknownTimeZone,
    all_day_span,
    iana_to_windows,
    utc_to_wall,
    wall_to_utc,
    windows_to_iana,
)


def test_windows_and_iana_names_map_both_ways_R21() -> None:
    assert windows_to_iana("Eastern Standard Time") == "America/New_York"
    assert windows_to_iana("W. Europe Standard Time") == "Europe/Berlin"
    assert iana_to_windows("America/New_York") == "Eastern Standard Time"
    assert iana_to_windows("Europe/Paris") == "Romance Standard Time"


@pytest.mark.parametrize(
    ("call", "name"),
    [(windows_to_iana, "Mars Standard Time"), (iana_to_windows, "Mars/Olympus")],
)
def test_unknown_zone_names_are_reported_R23(call: object, name: str) -> None:
    with pytest.raises(UnknownTimeZone, match="Mars"):
        call(name)  # type: ignore[operator]


def test_all_day_across_spring_forward_is_23_hours_R12c() -> None:
    start, end = all_day_span(date(2026, 3, 8), date(2026, 3, 9), "America/New_York")
    assert start.utc == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert end.utc == datetime(2026, 3, 9, 4, tzinfo=UTC)
    assert end.utc - start.utc == timedelta(hours=23)
    assert start.note is None
    assert end.note is None


def test_all_day_where_midnight_does_not_exist_is_reported_R12c_R23() -> None:
    # Santiago moves its clocks at midnight: 2026-09-06 00:00 does not exist.
    start, _ = all_day_span(date(2026, 9, 6), date(2026, 9, 7), "America/Santiago")
    assert start.note is not None
    assert "does not exist" in start.note


def test_wall_clock_gap_and_fold_are_reported_R23() -> None:
    gap = wall_to_utc(datetime(2026, 3, 8, 2, 30), "America/New_York")
    assert gap.utc == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert gap.note is not None
    fold = wall_to_utc(datetime(2026, 11, 1, 1, 30), "America/New_York")
    assert fold.utc == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert fold.note is not None
    assert "twice" in fold.note
    plain = wall_to_utc(datetime(2026, 11, 25, 9, 0), "America/New_York")
    assert plain == type(plain)(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    assert utc_to_wall(plain.utc, "America/New_York") == datetime(2026, 11, 25, 9, 0)


def test_unknown_store_zone_is_reported_R23() -> None:
    with pytest.raises(UnknownTimeZone):
        wall_to_utc(datetime(2026, 1, 1), "Not/A_Zone")
    with pytest.raises(UnknownTimeZone):
        wall_to_utc(datetime(2026, 1, 1), "")
