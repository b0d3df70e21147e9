"""Schema migrations with Alembic, driven from code (`s5sync db upgrade`, tests, demo).

Synchronous drivers are used for migrations (see migrations/env.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")
LIBRARY_TABLE_PREFIXES = ("procrastinate_",)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave tables that belong to libraries (procrastinate's job queue) out of
    autogenerate's comparison."""
    is_library_table = name is not None and name.startswith(LIBRARY_TABLE_PREFIXES)
    return not (type_ == "table" and is_library_table)


def sync_url(url: str) -> str:
    """The synchronous twin of a database URL (sqlite3 / psycopg)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        parsed = parsed.set(drivername="sqlite")
    elif parsed.drivername.startswith(("postgresql", "postgres")):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating the SQLite file if needed)."""
    parsed = make_url(sync_url(url))
    if parsed.drivername == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return rev


def grant_tenant_role(url: str, tenant_url: str) -> str:
    """Give the store-bound role of `tenant_url` what docs/operations.md §10 grants
    `s5sync_app` on every table and sequence now in the schema (run by the owner, after
    each upgrade, so a table a migration adds is never out of its reach). Returns the
    role's name."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    role = make_url(tenant_url).username
    if not role:
        raise ValueError("S5SYNC_TENANT_DATABASE_URL names no role (user@host)")
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            quoted = conn.dialect.identifier_preparer.quote(role)
            for grant in (
                "SELECT, INSERT, UPDATE, DELETE ON ALL TABLES",
                "USAGE ON ALL SEQUENCES",
                "EXECUTE ON ALL FUNCTIONS",  # the cycle's (migration 0008)
            ):
                conn.execute(text(f"GRANT {grant} IN SCHEMA public TO {quoted}"))
    finally:
        engine.dispose()
    return role
