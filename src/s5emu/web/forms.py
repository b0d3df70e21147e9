"""The appointment editor's form: raw fields in, a TaskForm or messages per field out.

Every problem becomes a message for its field (shown beside it and in the summary), and
what the user typed is kept to show again: nothing typed is lost on a refused save.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from s5emu.desk import TaskForm, TaskRow, form_errors, text_errors

FIELDS = (
    "kind",
    "employee_id",
    "customer_id",
    "title",
    "notes",
    "starts_at",
    "ends_at",
    "alarm_minutes",
    "sync",
)


@dataclass(frozen=True)
class Parsed:
    """A submitted editor form: the raw values to show again, and the form or errors."""

    raw: dict[str, str]
    form: TaskForm | None
    errors: dict[str, str]


def parse_form(data: Mapping[str, str]) -> Parsed:
    """Parse the editor's fields; errors come in the fields' order on the page."""
    raw = {key: str(data.get(key, "")) for key in FIELDS}
    raw["sync"] = "on" if data.get("sync") else ""
    errors = text_errors(raw["kind"], raw["title"], raw["notes"])

    def number(key: str, message: str) -> int | None:
        text = raw[key].strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            errors[key] = message
            return None

    def moment(key: str, label: str) -> datetime | None:
        text = raw[key].strip()
        if not text:
            errors[key] = f"Enter the {label} date and time."
            return None
        try:
            return datetime.fromisoformat(text).replace(second=0, microsecond=0, tzinfo=None)
        except ValueError:
            errors[key] = f"The {label} is not a date and time (YYYY-MM-DDTHH:MM)."
            return None

    employee_id = number("employee_id", "Choose an employee.")
    if employee_id is None:
        errors["employee_id"] = "Choose an employee."
    customer_id = number("customer_id", "Choose a customer or none.")
    alarm = number("alarm_minutes", "The alarm is a whole number of minutes.")
    starts_at = moment("starts_at", "start")
    ends_at = moment("ends_at", "end")
    form = None
    if employee_id is not None and starts_at is not None and ends_at is not None:
        form = TaskForm(
            kind=raw["kind"],
            employee_id=employee_id,
            customer_id=customer_id,
            title=raw["title"],
            notes=raw["notes"],
            starts_at=starts_at,
            ends_at=ends_at,
            alarm_minutes=alarm,
            sync=bool(raw["sync"]),
        )
        errors |= form_errors(form)
    ordered = {key: errors[key] for key in FIELDS if key in errors}
    return Parsed(raw, None if ordered else form, ordered)


def raw_from_task(task: TaskRow) -> dict[str, str]:
    """The editor's fields for a stored task."""
    return {
        "kind": task.kind,
        "employee_id": str(task.employee_id),
        "customer_id": "" if task.customer_id is None else str(task.customer_id),
        "title": task.title,
        "notes": task.notes,
        "starts_at": task.starts_at[:16],
        "ends_at": task.ends_at[:16],
        "alarm_minutes": "" if task.alarm_minutes is None else str(task.alarm_minutes),
        "sync": "on" if task.sync else "",
    }
