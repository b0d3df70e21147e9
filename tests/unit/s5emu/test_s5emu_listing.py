"""R13 as a table: which tasks Today's Tasks lists under a selected date."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from s5emu.desk import Desk, TaskForm, listed_on
from s5emu.schema import create_schema, engine_for
from s5emu.schema import task as task_table

START = date(2026, 12, 10)
BEFORE, AFTER = date(2026, 12, 5), date(2026, 12, 15)


@pytest.mark.parametrize(
    ("needs_review", "today", "selected", "listed"),
    [
        # Not flagged: only under its own date, whatever today is.
        (False, BEFORE, START, True),
        (False, BEFORE, BEFORE, False),
        (False, BEFORE, AFTER, False),
        (False, AFTER, START, True),
        # Flagged, start date not passed yet (today before it): under every date.
        (True, BEFORE, BEFORE, True),
        (True, BEFORE, START, True),
        (True, BEFORE, AFTER, True),
        (True, BEFORE, date(2026, 11, 1), True),
        # Flagged, today is the start date: it has not passed, still under every date.
        (True, START, START, True),
        (True, START, AFTER, True),
        (True, START, BEFORE, True),
        # Flagged, start date passed: only under its own date (still green there).
        (True, AFTER, START, True),
        (True, AFTER, AFTER, False),
        (True, AFTER, BEFORE, False),
    ],
)
def test_needs_review_tasks_are_listed_per_R13(
    needs_review: bool, today: date, selected: date, listed: bool
) -> None:
    assert listed_on(START, needs_review, selected, today) is listed


def test_todays_tasks_lists_flagged_tasks_under_other_dates_until_they_pass_R13(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    create_schema(url)
    desk = Desk(engine_for(url))
    try:
        alice = desk.add_employee("E001", "Alice", "alice@contoso.example")
        bob = desk.add_employee("E002", "Bob", "bob@contoso.example")
        at = datetime(2026, 12, 10, 9, 0)
        flagged = desk.create_task(TaskForm("outlook", alice, None, "F", "", at, at, None, False))
        plain = desk.create_task(TaskForm("internal", alice, None, "P", "", at, at, None, False))
        bobs = desk.create_task(TaskForm("internal", bob, None, "B", "", at, at, None, False))
        with desk.engine.begin() as conn:
            conn.execute(
                update(task_table).where(task_table.c.id == flagged).values(needs_review=1)
            )

        def ids(selected: date, today: date, employee: int | None = alice) -> list[int]:
            return [row.id for row in desk.day(selected, today, employee)]

        assert ids(START, BEFORE) == [flagged, plain]
        assert ids(BEFORE, BEFORE) == [flagged]
        assert ids(AFTER, AFTER) == []
        assert ids(START, AFTER) == [flagged, plain]
        assert ids(START, BEFORE, None) == [flagged, plain, bobs]
        assert desk.task(flagged) is not None
        assert desk.day(START, BEFORE, alice)[0].needs_review
    finally:
        desk.engine.dispose()
