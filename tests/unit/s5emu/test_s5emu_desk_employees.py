"""`Desk.add_employees`: many employees in one transaction, ids in the rows' order, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from s5emu.desk import Desk
from s5emu.schema import employee as employee_table
from s5emu.schema import engine_for


@pytest.fixture
def desk(systemfive_url: str) -> Iterator[Desk]:
    desk = Desk(engine_for(systemfive_url))
    yield desk
    desk.engine.dispose()


def stored(desk: Desk) -> dict[int, tuple[str, str, str]]:
    with desk.engine.connect() as conn:
        rows = conn.execute(select(employee_table))
        return {row.id: (row.code, row.name, row.email) for row in rows}


def test_add_employees_returns_each_rows_id_in_order(desk: Desk) -> None:
    first = desk.add_employee("E-first", "First", "first@contoso.example")
    # Codes out of sort order, and more rows than one INSERT takes (1,000 on PostgreSQL).
    rows = [(f"E{n:05d}", f"Employee {n}", f"e{n}@contoso.example") for n in range(2500, 0, -1)]
    ids = desk.add_employees(rows)
    assert len(set(ids)) == len(rows)
    assert first not in ids
    table = stored(desk)
    assert [table[employee_id] for employee_id in ids] == rows
    assert len(table) == len(rows) + 1
    assert desk.add_employees([]) == []


def test_add_employees_adds_none_when_one_row_is_refused(desk: Desk) -> None:
    desk.add_employee("E001", "Alice Martin", "alice@contoso.example")
    with pytest.raises(IntegrityError):
        desk.add_employees([("E002", "Bob", "bob@x.example"), ("E001", "Alice again", "a@x")])
    assert [row.code for row in desk.employees()] == ["E001"]
