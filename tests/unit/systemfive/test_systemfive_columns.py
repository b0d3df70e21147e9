"""Every System Five column read defensively (issue 23 item 2, R23): a table of values
that are not what the reference schema says, and what a read makes of each."""

from __future__ import annotations

from typing import Any

import pytest

from s5sync.systemfive.values import snapshot_or_unreadable

ROW: dict[str, Any] = {
    "id": 7,
    "employee_id": 3,
    "customer_id": None,
    "kind": "delivery",
    "title": "Deliver sofa",
    "notes": "",
    "starts_at": "2026-11-27T10:00:00",
    "ends_at": "2026-11-27T11:00:00",
    "alarm_minutes": 15,
    "sync": 1,
    "needs_review": 0,
    "external_ref": None,
    "updated_at": "2026-11-20T10:00:00.000000Z",
    "customer_name": None,
    **{
        f"{p}_{n}": None
        for p in ("bill", "ship")
        for n in ("id", "line1", "line2", "city", "region", "postal_code", "country")
    },
}


@pytest.mark.parametrize(
    ("column", "value", "read", "note"),
    [
        ("title", b"Deliver sofa", "Deliver sofa", "title was stored as bytes: read as text"),
        ("title", b"Deliver\xff sofa", "Deliver\ufffd sofa", "title is not valid UTF-8"),
        ("title", "Deliver\udcff sofa", "Deliver\ufffd sofa", "title is not valid UTF-8"),
        ("notes", 42, "42", "notes was stored as a int"),
        ("alarm_minutes", "soon", None, "alarm 'soon' is not a whole number: no reminder"),
        ("alarm_minutes", b"15", 15, None),
        ("alarm_minutes", 15.0, 15, None),
        ("alarm_minutes", 2.5, None, "alarm 2.5 is not a whole number: no reminder"),
        ("alarm_minutes", -5, None, "alarm of -5 minutes is not possible: no reminder"),
        ("alarm_minutes", 10**12, None, "more than Outlook keeps: no reminder"),
        ("external_ref", b"AAMk-1", "AAMk-1", "external_ref was stored as bytes"),
    ],
)
def test_a_value_of_the_wrong_type_is_read_with_the_reason_R23(
    column: str, value: object, read: object, note: str | None
) -> None:
    task = snapshot_or_unreadable({**ROW, column: value}, "America/New_York")
    assert task is not None
    assert task.unreadable is None
    assert getattr(task, column) == read
    if note is None:
        assert task.time_notes == ()
    else:
        assert any(note in n for n in task.time_notes), task.time_notes


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("starts_at", b"\x00\x01", "start (2 bytes) is not a date and time"),
        ("starts_at", 12345, "start 12345 is not a date and time"),
        ("ends_at", "9999-12-31T23:59:00", "end 9999-12-31 23:59 cannot be a time in UTC"),
        ("kind", b"\xff", "unknown kind"),
        ("sync", 7, "sync 7 is neither 0 nor 1"),
        ("needs_review", "maybe", "needs_review 'maybe' is not a whole number"),
        ("employee_id", "Eve", "employee 'Eve' is not a whole number"),
        ("bill_id", "x", "bill_to address id 'x' is not a whole number"),
    ],
)
def test_a_value_with_no_sensible_reading_makes_the_row_unreadable_not_deleted_R23(
    column: str, value: object, reason: str
) -> None:
    task = snapshot_or_unreadable({**ROW, column: value}, "America/New_York")
    assert task is not None
    assert task.id == 7
    assert reason in (task.unreadable or ""), task.unreadable


def test_a_row_whose_id_is_not_a_number_names_no_task_R23() -> None:
    assert snapshot_or_unreadable({**ROW, "id": "seven"}, "America/New_York") is None
