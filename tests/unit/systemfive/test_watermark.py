"""The System Five watcher's watermark (R14b): never miss a save, never count one twice."""

from __future__ import annotations

from s5sync.systemfive.watcher import Saved, Watermark, advance, scan_start

A = "2026-11-30T08:00:00.000000Z"
B = "2026-11-30T08:00:10.000000Z"
LATE = "2026-11-30T07:59:30.000000Z"  # older than B, within the overlap
ANCIENT = "2026-11-30T07:00:00.000000Z"


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
