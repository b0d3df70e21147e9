"""R13: needs-review tasks in Today's Tasks."""

from __future__ import annotations

from datetime import date

import pytest

from s5sync.core.review import listed_on

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("start", "needs_review", "selected", "listed"),
    [
        # Flagged and not yet passed: under every selected date.
        (date(2026, 11, 28), True, date(2026, 11, 20), True),
        (date(2026, 11, 28), True, date(2026, 12, 31), True),
        (TODAY, True, date(2026, 11, 1), True),
        # Flagged and passed: only under its own date.
        (date(2026, 11, 24), True, TODAY, False),
        (date(2026, 11, 24), True, date(2026, 11, 24), True),
        # Not flagged: only under its own date.
        (date(2026, 11, 28), False, TODAY, False),
        (date(2026, 11, 28), False, date(2026, 11, 28), True),
    ],
)
def test_needs_review_tasks_listed_under_every_date_until_their_start_passes_R13(
    start: date, needs_review: bool, selected: date, listed: bool
) -> None:
    assert listed_on(start, needs_review, selected, TODAY) is listed
