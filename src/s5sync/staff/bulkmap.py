"""Mapping many users at once from a CSV file (issue 21 item 5; R20, R21c):
`s5sync user map --csv FILE --tenant T`, one `email,employee code` per line.

All or nothing: every line is checked first — the e-mail looks like one, the employee
code is one of System Five's, no e-mail or code twice in the file, no code already
mapped to a user the file does not remap — and a single bad line maps nobody; the
report names each bad line by its number. Pure: the file's text, System Five's
employees and the store's users in, the plan or the report out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from s5sync.core.records import UserRecord
from s5sync.sync.ports import Employee

HEADER = ("email", "employee code")


@dataclass(frozen=True)
class BulkRow:
    line: int
    email: str
    employee: Employee
    user: UserRecord | None  # None: named before their first sign-in (invited)


@dataclass(frozen=True)
class BulkPlan:
    rows: tuple[BulkRow, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)


def plan_bulk_map(
    text: str, employees: Sequence[Employee], users: Sequence[UserRecord]
) -> BulkPlan:
    by_code = {e.code.strip().casefold(): e for e in employees}
    by_email = {u.email.casefold(): u for u in users}
    rows: list[BulkRow] = []
    problems: list[str] = []
    seen_emails: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in fields]
        if not any(cells) or (number == 1 and tuple(c.casefold() for c in cells) == HEADER):
            continue
        if len(cells) != 2:
            problems.append(
                f"line {number}: expected 2 fields (email,employee code), got {len(cells)}"
            )
            continue
        email, code = cells[0].lower(), cells[1]
        if "@" not in email or " " in email:
            problems.append(f"line {number}: {email!r} is not an e-mail address")
            continue
        employee = by_code.get(code.casefold())
        if employee is None:
            problems.append(f"line {number}: no System Five employee has the code {code!r}")
            continue
        if email in seen_emails:
            problems.append(f"line {number}: {email} is on line {seen_emails[email]} already")
            continue
        if employee.code.casefold() in seen_codes:
            first = seen_codes[employee.code.casefold()]
            problems.append(f"line {number}: employee {employee.code} is on line {first} already")
            continue
        seen_emails[email] = number
        seen_codes[employee.code.casefold()] = number
        rows.append(BulkRow(number, email, employee, by_email.get(email)))
    remapped = {r.email for r in rows}
    for row in rows:
        holder = next(
            (
                u
                for u in users
                if u.employee_id == row.employee.id and u.email.casefold() != row.email
            ),
            None,
        )
        if holder is not None and holder.email.casefold() not in remapped:
            problems.append(
                f"line {row.line}: employee {row.employee.code} is already mapped to {holder.email}"
            )
    if not rows and not problems:
        problems.append("the file has no line to map")
    return BulkPlan(tuple(rows), tuple(problems))
