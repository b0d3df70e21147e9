"""Fresh PostgreSQL databases on the test server, for tests that need a whole one
(the dispatcher sees every store in its database, so nothing else may share it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql


@pytest.fixture
def fresh_pg(pg_database: str) -> Iterator[Callable[[str], str]]:
    """`fresh_pg(label)` → the URL of a new empty database, dropped after the test."""
    base, _, _ = pg_database.rpartition("/")
    admin = pg_database
    made: list[str] = []

    def make(label: str) -> str:
        name = f"s5sync_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        return f"{base}/{name}"

    yield make
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in made:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
