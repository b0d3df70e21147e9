"""System Five's own screens' operations: what the appointment editor and Today's Tasks do.

Every save from these screens sets `updated_at` and clears `needs_review` (SPEC.md
reference schema, R13). Input that System Five refuses — no title, end before start,
a title over 100 or notes over 4000 characters — is reported field by field and nothing
is saved. `listed_on` is R13's listing rule, kept pure so it is tested as a table.

`updated_at` is UTC with microseconds (`2026-11-25T19:30:00.123456Z`), so that two saves
within one second still differ and optimistic writers see every save.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, delete, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from s5emu.schema import NOTES_MAX, TASK_KINDS, TITLE_MAX, WALL_FORMAT
from s5emu.schema import address as address_table
from s5emu.schema import customer as customer_table
from s5emu.schema import employee as employee_table
from s5emu.schema import task as task_table

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class EmployeeRow:
    id: int
    code: str
    name: str
    email: str


@dataclass(frozen=True)
class CustomerRow:
    id: int
    name: str


@dataclass(frozen=True)
class AddressForm:
    kind: str
    line1: str
    city: str
    postal_code: str = ""
    region: str = ""
    country: str = ""
    line2: str = ""


@dataclass(frozen=True)
class TaskForm:
    """What the appointment editor submits; times are wall-clock `datetime`s."""

    kind: str
    employee_id: int
    customer_id: int | None
    title: str
    notes: str
    starts_at: datetime
    ends_at: datetime
    alarm_minutes: int | None
    sync: bool


@dataclass(frozen=True)
class TaskRow:
    id: int
    employee_id: int
    customer_id: int | None
    kind: str
    title: str
    notes: str
    starts_at: str
    ends_at: str
    alarm_minutes: int | None
    sync: bool
    needs_review: bool
    external_ref: str | None
    updated_at: str | None
    customer_name: str | None

    @property
    def start_date(self) -> date:
        return date.fromisoformat(self.starts_at[:10])


def text_errors(kind: str, title: str, notes: str) -> dict[str, str]:
    """Field name → message for the kind, title and notes System Five refuses."""
    errors: dict[str, str] = {}
    if kind not in TASK_KINDS:
        errors["kind"] = "Choose a kind."
    if not title.strip():
        errors["title"] = "Enter a title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"The title has {len(title)} characters; at most {TITLE_MAX}."
    if len(notes) > NOTES_MAX:
        errors["notes"] = f"The notes have {len(notes)} characters; at most {NOTES_MAX}."
    return errors


def form_errors(form: TaskForm) -> dict[str, str]:
    """Field name → message for every value System Five refuses (empty when valid)."""
    errors = text_errors(form.kind, form.title, form.notes)
    if form.ends_at < form.starts_at:
        errors["ends_at"] = "The end is before the start."
    if form.alarm_minutes is not None and form.alarm_minutes < 0:
        errors["alarm_minutes"] = "The alarm is minutes before the start: 0 or more."
    return errors


def listed_on(start_date: date, needs_review: bool, selected: date, today: date) -> bool:
    """R13: is a task starting on `start_date` listed under the `selected` date?

    Needs-review tasks are listed under every date while their start date has not
    passed (today counts as not passed), then only under their own date.
    """
    if needs_review and start_date >= today:
        return True
    return start_date == selected


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Desk:
    """System Five's screens on one database (a synchronous engine)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine = engine
        self._clock = clock

    def _stamp(self, previous: str | None) -> str:
        # Strictly after the previous save even when the clock stands still or steps
        # back, so an optimistic writer holding an older value never matches.
        stamp = self._clock().astimezone(UTC)
        if previous:
            try:
                before = datetime.strptime(previous, STAMP_FORMAT).replace(tzinfo=UTC)
            except ValueError:
                before = None
            if before is not None and stamp <= before:
                stamp = before + timedelta(microseconds=1)
        text = stamp.strftime(STAMP_FORMAT)
        if text == previous:
            text = (stamp + timedelta(microseconds=1)).strftime(STAMP_FORMAT)
        return text

    def employees(self) -> list[EmployeeRow]:
        query = select(employee_table).order_by(employee_table.c.name, employee_table.c.id)
        with self.engine.connect() as conn:
            return [
                EmployeeRow(row.id, row.code, row.name, row.email or "")
                for row in conn.execute(query)
            ]

    def customers(self) -> list[CustomerRow]:
        query = select(customer_table.c.id, customer_table.c.name).order_by(
            customer_table.c.name, customer_table.c.id
        )
        with self.engine.connect() as conn:
            return [CustomerRow(row.id, row.name) for row in conn.execute(query)]

    def add_employee(self, code: str, name: str, email: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(employee_table)
                .values(code=code, name=name, email=email)
                .returning(employee_table.c.id)
            )
            return int(result.scalar_one())

    def add_employees(self, rows: Sequence[tuple[str, str, str]]) -> list[int]:
        """Employees from (code, name, email) rows in one transaction; their ids in the
        rows' order. SQLAlchemy sends multi-row INSERT … RETURNING statements (as many
        rows each as the driver takes) and sorts what they return into the rows' order."""
        if not rows:
            return []
        values = [{"code": code, "name": name, "email": email} for code, name, email in rows]
        statement = insert(employee_table).returning(
            employee_table.c.id, sort_by_parameter_order=True
        )
        with self.engine.begin() as conn:
            return [int(employee_id) for employee_id in conn.execute(statement, values).scalars()]

    def add_customer(
        self, name: str, addresses: Sequence[AddressForm] = (), phone: str = "", email: str = ""
    ) -> int:
        with self.engine.begin() as conn:
            customer_id = int(
                conn.execute(
                    insert(customer_table)
                    .values(name=name, phone=phone, email=email)
                    .returning(customer_table.c.id)
                ).scalar_one()
            )
            for item in addresses:
                conn.execute(
                    insert(address_table).values(
                        customer_id=customer_id,
                        kind=item.kind,
                        line1=item.line1,
                        line2=item.line2,
                        city=item.city,
                        region=item.region,
                        postal_code=item.postal_code,
                        country=item.country,
                    )
                )
            return customer_id

    def _select_tasks(self) -> Select[Any]:
        return select(task_table, customer_table.c.name.label("customer_name")).select_from(
            task_table.outerjoin(customer_table, customer_table.c.id == task_table.c.customer_id)
        )

    @staticmethod
    def _row(row: RowMapping) -> TaskRow:
        return TaskRow(
            id=row["id"],
            employee_id=row["employee_id"],
            customer_id=row["customer_id"],
            kind=row["kind"],
            title=row["title"],
            notes=row["notes"] or "",
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            alarm_minutes=row["alarm_minutes"],
            sync=bool(row["sync"]),
            needs_review=bool(row["needs_review"]),
            external_ref=row["external_ref"],
            updated_at=row["updated_at"],
            customer_name=row["customer_name"],
        )

    def task(self, task_id: int) -> TaskRow | None:
        query = self._select_tasks().where(task_table.c.id == task_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else self._row(row)

    @staticmethod
    def _values(form: TaskForm) -> dict[str, object]:
        return {
            "kind": form.kind,
            "employee_id": form.employee_id,
            "customer_id": form.customer_id,
            "title": form.title,
            "notes": form.notes,
            "starts_at": form.starts_at.strftime(WALL_FORMAT),
            "ends_at": form.ends_at.strftime(WALL_FORMAT),
            "alarm_minutes": form.alarm_minutes,
            "sync": int(form.sync),
        }

    def create_task(self, form: TaskForm) -> int:
        """Create a task from the editor (callers check `form_errors` first)."""
        values = self._values(form) | {"needs_review": 0, "updated_at": self._stamp(None)}
        with self.engine.begin() as conn:
            result = conn.execute(insert(task_table).values(values).returning(task_table.c.id))
            return int(result.scalar_one())

    def save_task(self, task_id: int, form: TaskForm) -> bool:
        """Save an edited task: sets `updated_at`, clears `needs_review` (R13).

        Returns False when the task no longer exists.
        """
        with self.engine.begin() as conn:
            previous = conn.execute(
                select(task_table.c.updated_at).where(task_table.c.id == task_id)
            ).first()
            if previous is None:
                return False
            values = self._values(form) | {
                "needs_review": 0,
                "updated_at": self._stamp(previous.updated_at),
            }
            conn.execute(update(task_table).where(task_table.c.id == task_id).values(values))
            return True

    def delete_task(self, task_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(task_table).where(task_table.c.id == task_id)).rowcount > 0

    def day(self, selected: date, today: date, employee_id: int | None) -> list[TaskRow]:
        """Today's Tasks for `selected` (R13: needs-review tasks per `listed_on`)."""
        day_text = selected.isoformat()
        query = self._select_tasks().where(
            or_(
                task_table.c.starts_at.between(day_text, day_text + "T99"),
                task_table.c.needs_review == 1,
            )
        )
        if employee_id is not None:
            query = query.where(task_table.c.employee_id == employee_id)
        query = query.order_by(task_table.c.starts_at, task_table.c.id)
        with self.engine.connect() as conn:
            rows = [self._row(row) for row in conn.execute(query).mappings()]
        return [row for row in rows if listed_on(row.start_date, row.needs_review, selected, today)]
