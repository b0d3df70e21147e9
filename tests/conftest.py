"""Fixtures shared by every test directory.

PostgreSQL: `S5SYNC_TEST_DATABASE_URL` (default the machine's server, database `test`).
Each test run creates its own fresh database and drops it afterwards, so runs never see
each other's data. When no server answers, PostgreSQL tests skip with the reason.

Browser: Debian's chromium at `/usr/bin/chromium` (Playwright cannot download one here).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql

from s5emu.schema import create_schema, drop_schema
from support.browser import CHROMIUM_ARGS as CHROMIUM_ARGS
from support.browser import install_axe

# Every Hypothesis test outside tests/property (which loads its own profiles): no
# deadline and no too_slow health check — CI shares 2 cores, and a slow example is not a
# failure; no example database left in the tree.
settings.register_profile(
    "s5sync-suite",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.load_profile("s5sync-suite")

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
CHROMIUM = os.environ.get("S5SYNC_TEST_CHROMIUM", "/usr/bin/chromium")
# Issue 20: screenshots of the browser tests go to tests/e2e/artifacts/ (ignored by git).
ARTIFACTS = Path(__file__).resolve().parent / "e2e" / "artifacts"


def _admin_url() -> str:
    return os.environ.get("S5SYNC_TEST_DATABASE_URL", DEFAULT_PG)


class PgDatabases:
    """Creates fresh PostgreSQL databases for this run and drops them at its end."""

    def __init__(self, admin: str) -> None:
        self.admin = admin
        self.names: list[str] = []
        self.roles: list[str] = []

    def create(self) -> str:
        name = f"s5sync_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.names.append(name)
        base, _, _ = self.admin.rpartition("/")
        return f"{base}/{name}"

    def app_role(self, url: str) -> str:
        """A login role in `url`'s database that owns nothing and cannot bypass row-level
        security, with the grants docs/operations.md gives `s5sync_app`; its URL."""
        role = f"s5sync_app_{uuid.uuid4().hex[:8]}"
        name = sql.Identifier(role)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(name))
            self.roles.append(role)
            conn.execute(
                sql.SQL(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
                ).format(name)
            )
            conn.execute(
                sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(name)
            )
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{role}@{rest.partition('@')[2]}"

    def drop_all(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for name in self.names:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            for role in self.roles:  # their grants went with the databases
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    """A factory of fresh PostgreSQL databases (one per suite that needs its own schema)."""
    admin = _admin_url()
    try:
        psycopg.connect(admin, autocommit=True, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {admin}: {error}".splitlines()[0])
    factory = PgDatabases(admin)
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(scope="session")
def pg_database(pg_databases: PgDatabases) -> str:
    """A fresh PostgreSQL database for this test run, as a plain `postgresql://` URL."""
    return pg_databases.create()


@pytest.fixture(scope="session")
def pg_async_url(pg_database: str) -> str:
    """The run's PostgreSQL database as an SQLAlchemy asyncpg URL."""
    return pg_database.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium, or a skip saying why."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM} (CI must install Debian's chromium)")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep screenshots (kept by CI as the run's evidence)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core for accessibility checks (pages with a strict CSP need `bypass_csp=True`)."""
    return install_axe()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def systemfive_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh System Five reference schema (s5emu) on SQLite, and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        drop_schema(url)
    create_schema(url)
    return url
