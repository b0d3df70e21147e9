"""R13's listing rule for Today's Tasks, as the product states it.

A task flagged needs-review is listed under *every* selected date while its start date
(in the store's zone) has not passed — today counts as not passed — and only under its
own date afterwards (still shown light green). Other tasks are listed under their own
date. The System Five emulator implements its own copy; this is the statement its tests
are checked against. Dates are store-zone calendar dates; `today` comes from the caller.
"""

from __future__ import annotations

from datetime import date


def listed_on(task_start_date: date, needs_review: bool, selected_date: date, today: date) -> bool:
    """R13: is the task listed when Today's Tasks shows `selected_date`?"""
    if needs_review and task_start_date >= today:
        return True
    return task_start_date == selected_date
