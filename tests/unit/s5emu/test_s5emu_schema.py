"""The System Five reference schema is exactly SPEC.md's table, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from s5emu.schema import engine_for, sync_url
from s5emu.schema import task as task_table

SPEC_COLUMNS = {
    "employee": ["id", "code", "name", "email"],
    "customer": ["id", "name", "phone", "email"],
    "address": [
        "id", "customer_id", "kind", "line1", "line2", "city", "region", "postal_code", "country",
    ],
    "task": [
        "id", "employee_id", "customer_id", "kind", "title", "notes", "starts_at", "ends_at",
        "alarm_minutes", "sync", "needs_review", "external_ref", "updated_at",
    ],
}  # fmt: skip


def test_tables_and_columns_are_exactly_the_reference_schema(systemfive_url: str) -> None:
    engine = engine_for(systemfive_url)
    try:
        found = inspect(engine)
        tables = {name: [c["name"] for c in found.get_columns(name)] for name in SPEC_COLUMNS}
        assert tables == SPEC_COLUMNS
        indexes = {tuple(ix["column_names"]) for ix in found.get_indexes("task")}
        assert ("employee_id", "starts_at") in indexes
        uniques = {tuple(u["column_names"]) for u in found.get_unique_constraints("task")}
        assert ("external_ref",) in uniques
    finally:
        engine.dispose()


def _task(employee_id: int, title: str, ref: str | None = None) -> dict[str, object]:
    return {
        "employee_id": employee_id,
        "kind": "internal",
        "title": title,
        "starts_at": "2026-12-01T09:00:00",
        "ends_at": "2026-12-01T10:00:00",
        "external_ref": ref,
    }


def test_task_ids_are_never_reused_after_a_delete(systemfive_url: str) -> None:
    engine = engine_for(systemfive_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO employee (code, name) VALUES ('E1', 'Alice')"))
            first = conn.execute(
                insert(task_table).values(_task(1, "a")).returning(task_table.c.id)
            ).scalar_one()
            conn.execute(task_table.delete().where(task_table.c.id == first))
            second = conn.execute(
                insert(task_table).values(_task(1, "b")).returning(task_table.c.id)
            ).scalar_one()
        assert second > first
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([_task(1, "a", "evt-1"), _task(1, "b", "evt-1")], "external_ref is unique"),
        ([_task(1, "x" * 101)], "title at most 100 characters"),
        ([_task(1, "a") | {"kind": "meeting"}], "kind is one of five"),
        ([_task(1, "a") | {"sync": 2}], "sync is 0 or 1"),
        ([_task(99, "a")], "employee must exist"),
    ],
)
def test_the_schema_refuses_what_system_five_cannot_hold(
    systemfive_url: str, rows: list[dict[str, object]], why: str
) -> None:
    engine = engine_for(systemfive_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO employee (code, name) VALUES ('E1', 'Alice')"))
        with engine.connect() as conn:
            for row in rows[:-1]:
                conn.execute(insert(task_table).values(row))
            with pytest.raises(IntegrityError):
                conn.execute(insert(task_table).values(rows[-1]))
            conn.rollback()
        with engine.connect() as conn:
            assert conn.execute(select(task_table.c.id)).all() == [], why
    finally:
        engine.dispose()


def test_async_urls_map_to_their_sync_drivers() -> None:
    assert sync_url("sqlite+aiosqlite:///x.db") == "sqlite:///x.db"
    assert sync_url("postgresql+asyncpg://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert sync_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
