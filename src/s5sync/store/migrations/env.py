"""Alembic environment for the CALENDAREVENT database.

Migrations run on the synchronous drivers (sqlite3, psycopg): no event loop involved,
so `s5sync db upgrade` and tests can call them from anywhere. Tables that belong to
libraries (procrastinate's job queue) are left out of autogenerate's comparison.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from s5sync.store.migrate import include_object
from s5sync.store.models import Base


def run_migrations() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
