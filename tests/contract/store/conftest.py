"""The CALENDAREVENT store on SQLite and on PostgreSQL, migrated with Alembic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from s5sync.store.database import Database
from s5sync.store.migrate import upgrade
from s5sync.store.models import Base
from s5sync.store.secrets import SecretBox


@pytest.fixture(scope="session")
def migrated_pg(pg_databases: Any) -> str:
    """The CALENDAREVENT schema in a database of its own: other suites' tables (System
    Five's) would otherwise show up in the autogenerate comparison."""
    url: str = pg_databases.create()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "calendarevent.db"
        path.write_bytes(sqlite_template.read_bytes())
        yield f"sqlite:///{path}"
        return
    yield request.getfixturevalue("clean_pg")


@pytest.fixture
def clean_pg(migrated_pg: str) -> str:
    """The run's migrated PostgreSQL database, emptied for this test."""
    with psycopg.connect(migrated_pg, autocommit=True) as conn:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return migrated_pg


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()
    await asyncio.sleep(0)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.generate_key()])


@pytest.fixture
def app_role(migrated_pg: str, pg_databases: Any) -> str:
    """A login role that owns nothing and cannot bypass row-level security."""
    url: str = pg_databases.app_role(migrated_pg)
    return url.partition("://")[2].partition("@")[0]
