"""The System Five watcher's watermark (R14b): never miss a save, never count one twice."""

from __future__ import annotations

from datetime import datetime

import pytest

from s5sync.systemfive.watcher import Saved, Watermark, advance, bad_stamps, moment, scan_start

A = "2026-11-30T08:00:00.000000Z"
B = "2026-11-30T08:00:10.000000Z"
LATE = "2026-11-30T07:59:30.000000Z"  # older than B, within the overlap
ANCIENT = "2026-11-30T07:00:00.000000Z"
ZONE = "America/New_York"


def test_the_scan_starts_an_overlap_before_the_watermark_R14b() -> None:
    assert scan_start(Watermark(B)) == "2026-11-30T07:59:10.000000Z"
    assert scan_start(Watermark("not-a-stamp")) == "not-a-stamp"  # another tool's format


def test_a_new_save_wakes_its_employee_once_R14b() -> None:
    mark, woken = advance(Watermark(A, frozenset({(1, A)})), [Saved(1, 7, A), Saved(2, 8, B)])
    assert woken == {8}
    assert mark.value == B
    again, woken = advance(mark, [Saved(1, 7, A), Saved(2, 8, B)])
    assert woken == frozenset()
    assert again == mark


def test_a_save_equal_to_the_watermark_is_not_missed_R14b() -> None:
    mark = Watermark(B, frozenset({(2, B)}))
    _, woken = advance(mark, [Saved(2, 8, B), Saved(3, 9, B)])
    assert woken == {9}


def test_a_late_save_older_than_the_watermark_is_not_missed_R14b() -> None:
    mark = Watermark(B, frozenset({(2, B)}))
    moved, woken = advance(mark, [Saved(4, 5, LATE), Saved(2, 8, B)])
    assert woken == {5}
    assert moved.value == B
    assert (4, LATE) in moved.seen


def test_a_second_save_of_the_same_task_is_seen_R14b() -> None:
    mark = Watermark(A, frozenset({(1, A)}))
    _, woken = advance(mark, [Saved(1, 7, A), Saved(1, 7, B)])
    assert woken == {7}


def test_seen_pairs_older_than_the_overlap_are_dropped_R14b() -> None:
    moved, _ = advance(Watermark(B), [Saved(9, 1, ANCIENT), Saved(2, 8, B)])
    assert moved.seen == {(2, B)}


def test_a_task_without_an_employee_wakes_nobody_R14b() -> None:
    _, woken = advance(Watermark(A), [Saved(5, None, B)])
    assert woken == frozenset()


def test_a_row_stamped_in_the_future_does_not_hide_later_saves_R14b() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 8, 0, 10, tzinfo=UTC)
    future = "2026-11-30T12:00:00.000000Z"
    mark, _ = advance(Watermark(A), [Saved(1, 7, future)], now)
    assert mark.value == B  # held at the watcher's clock, not the future stamp
    _, woken = advance(mark, [Saved(1, 7, future), Saved(2, 8, B)], now)
    assert woken == {8}


# Issue 19 item 5 (audit gap 3): a save is never missed whatever `updated_at` holds.
NOW = "2026-11-30T08:00:20.000000Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_task_inserted_without_updated_at_is_found_by_its_id_R14b() -> None:
    mark = Watermark(B, frozenset({(2, B)}), last_id=2)
    moved, woken = advance(mark, [Saved(2, 8, B), Saved(3, 9, "")], at(NOW))
    assert woken == {9}
    assert moved.last_id == 3
    assert moved.value == B  # no time to move it
    _, again = advance(moved, [Saved(2, 8, B)], at(NOW))
    assert again == frozenset()


def test_ids_not_above_the_highest_seen_are_not_new_by_id_R14b() -> None:
    mark = Watermark(B, frozenset({(2, B)}), last_id=5)
    _, woken = advance(mark, [Saved(2, 8, B), Saved(4, 9, "")], at(NOW))
    assert woken == frozenset()


def test_a_wall_clock_stamp_is_compared_as_the_stores_time_R14b() -> None:
    # 03:00:05 in New York is 08:00:05 UTC: after A, before B; as text it sorts far below.
    wall = "2026-11-30T03:00:05"
    mark = Watermark(A, frozenset({(1, A)}), last_id=1)
    moved, woken = advance(mark, [Saved(1, 7, A), Saved(2, 8, wall)], at(NOW), ZONE)
    assert woken == {8}
    assert moved.value == "2026-11-30T08:00:05.000000Z"
    assert moved.wall
    assert (2, wall) in moved.seen
    # From now on the scan starts at the earlier (wall-clock) text, so a wall-clock save
    # of an existing task is not sorted out of it.
    assert scan_start(moved, ZONE) == "2026-11-30T02:59:05"
    _, woken = advance(moved, [Saved(2, 8, wall), Saved(1, 7, "2026-11-30T03:00:09")], None, ZONE)
    assert woken == {7}


def test_other_iso_forms_of_updated_at_are_times_R14b() -> None:
    assert moment("2026-11-30T09:00:00+01:00", ZONE) == at("2026-11-30T08:00:00+00:00")
    assert moment("2026-11-30T08:00:00.5Z", ZONE) == at("2026-11-30T08:00:00.5+00:00")
    assert moment("2026-11-30 03:00:00", ZONE) == at("2026-11-30T08:00:00+00:00")
    assert moment("", ZONE) is None


def test_a_value_that_is_not_a_time_is_skipped_once_never_a_crash_R14b() -> None:
    mark = Watermark(B, frozenset({(2, B)}), last_id=5)
    rows = [Saved(2, 8, B), Saved(4, 9, "yesterday"), Saved(3, 6, "9999-99-99")]
    assert bad_stamps(mark, rows, ZONE) == rows[1:]
    moved, woken = advance(mark, rows, at(NOW), ZONE)
    assert woken == frozenset()  # when it was saved cannot be told: the safety net syncs it
    assert moved.value == B
    assert bad_stamps(moved, rows, ZONE) == []  # said once, not every poll
    new, woken = advance(moved, [Saved(6, 1, "junk")], at(NOW), ZONE)
    assert woken == {1}  # an id above the highest seen is new, whatever its stamp
    with pytest.raises(ValueError, match="not a time"):
        moment("junk", ZONE)
    assert new.last_id == 6


def test_with_no_watermark_yet_the_scan_starts_at_the_clock_R14b() -> None:
    assert scan_start(Watermark(None, last_id=0), ZONE, at(NOW)) == "2026-11-30T07:59:20.000000Z"
