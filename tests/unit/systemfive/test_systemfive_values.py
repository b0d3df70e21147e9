"""Properties of the values System Five can hold (R23) and of wall-clock round trips (DST)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from s5sync.core.timezones import wall_to_utc
from s5sync.systemfive.values import CUT_MARKER, STAMP_FORMAT, cut, stamp, wall_text

ZONES = st.sampled_from(["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"])
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@given(st.text(max_size=300), st.integers(min_value=len(CUT_MARKER) + 1, max_value=200))
def test_cut_text_fits_keeps_its_start_and_says_so_R23(text: str, limit: int) -> None:
    kept, note = cut(text, limit, "title")
    assert len(kept) <= limit
    if len(text) <= limit:
        assert (kept, note) == (text, None)
    else:
        assert kept.endswith(CUT_MARKER)
        assert text.startswith(kept.removesuffix(CUT_MARKER))
        assert note == f"title cut from {len(text)} to {limit} characters (System Five's limit)"


@given(INSTANTS, ZONES)
def test_a_written_instant_reads_back_the_same_unless_a_fold_was_reported(
    instant: datetime, zone_name: str
) -> None:
    text, note = wall_text(instant, zone_name, "start")
    back = wall_to_utc(datetime.fromisoformat(text), zone_name).utc
    exact = instant.replace(microsecond=0)
    if note is None:
        assert back == exact
    else:
        assert "happens twice" in note
        assert back < exact  # System Five reads the fold's first occurrence
        assert exact - back <= timedelta(hours=1)


@given(INSTANTS, st.integers(min_value=-5, max_value=5))
def test_each_stamp_is_later_than_the_last_even_when_the_clock_stands_still_or_steps_back(
    instant: datetime, step: int
) -> None:
    first = stamp(instant)
    second = stamp(instant + timedelta(microseconds=step), first)
    assert second > first
    parsed = [datetime.strptime(t, STAMP_FORMAT).replace(tzinfo=UTC) for t in (first, second)]
    assert parsed[1] > parsed[0]
