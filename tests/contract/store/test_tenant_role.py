"""The store-bound role (`S5SYNC_TENANT_DATABASE_URL`, R22): `Database` runs every
tenant-scoped transaction on it and the `Directory`'s on the owner's role, and
`tenant_role_problem` says why the policies would not bind a role before a process
starts with it."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from typer.testing import CliRunner

from s5sync.entrypoints.cli import app as cli_app
from s5sync.store.database import Database
from s5sync.store.directory import Directory
from s5sync.store.secrets import SecretBox
from support.two_stores import two_stores_with_a_user_each

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def as_role(url: str, role: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://{role}@")


async def test_store_bound_work_runs_as_the_tenant_role_and_sees_one_store_R22(
    clean_pg: str, app_role: str
) -> None:
    box = SecretBox([SecretBox.generate_key()])
    db = Database(clean_pg, tenant_url=as_role(clean_pg, app_role))
    try:
        # Written through the role: the policies' WITH CHECK lets each store's rows in.
        a, b = await two_stores_with_a_user_each(db, box, NOW)
        assert await db.tenant_role_problem() is None
        async with db.transaction(a.id) as session:
            assert (await session.execute(text("SELECT current_user"))).scalar() == app_role
            unfiltered = await session.execute(text("SELECT object_id FROM app_user"))
            assert list(unfiltered.scalars()) == ["oid-a"]
        async with db.connection(b.id, write=False) as conn:
            unfiltered = await conn.execute(text("SELECT object_id FROM app_user"))
            assert list(unfiltered.scalars()) == ["oid-b"]
        everyone = await Directory(db, box).users()
        assert sorted(u.object_id for u in everyone) == ["oid-a", "oid-b"]
    finally:
        await db.dispose()


async def test_without_a_tenant_role_everything_runs_as_the_owner(clean_pg: str) -> None:
    db = Database(clean_pg)
    try:
        assert db.tenant_engine is db.write_engine
        assert await db.tenant_role_problem() is None
    finally:
        await db.dispose()


@pytest.fixture
def bare_role(clean_pg: str, pg_databases: Any) -> str:
    """A role that may log in and nothing more (no grants on the tables)."""
    url: str = pg_databases.app_role(clean_pg)
    role = url.partition("://")[2].partition("@")[0]
    with psycopg.connect(clean_pg, autocommit=True) as conn:
        conn.execute(
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(
                sql.Identifier(role)
            )
        )
    return role


@pytest.mark.parametrize(
    ("who", "problem"),
    [
        ("superuser", "bypasses row-level security (superuser or BYPASSRLS)"),
        ("bare", "lacks SELECT, INSERT, UPDATE or DELETE on"),
    ],
)
async def test_a_role_the_policies_would_not_bind_is_named_with_the_reason_R22(
    clean_pg: str, who: str, problem: str, request: pytest.FixtureRequest
) -> None:
    role = "postgres" if who == "superuser" else request.getfixturevalue("bare_role")
    db = Database(clean_pg, tenant_url=as_role(clean_pg, role))
    try:
        found = await db.tenant_role_problem()
    finally:
        await db.dispose()
    assert found is not None
    assert found.startswith(f"role {role} ")
    assert problem in found


async def test_a_role_that_owns_the_tables_is_named_R22(clean_pg: str, pg_databases: Any) -> None:
    url: str = pg_databases.app_role(clean_pg)
    role = url.partition("://")[2].partition("@")[0]
    with psycopg.connect(clean_pg, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER TABLE sync_run OWNER TO {}").format(sql.Identifier(role)))
    db = Database(clean_pg, tenant_url=url)
    try:
        assert await db.tenant_role_problem() == (
            f"role {role} owns 1 table(s), so it could turn their policies off"
        )
    finally:
        await db.dispose()
        with psycopg.connect(clean_pg, autocommit=True) as conn:
            conn.execute("ALTER TABLE sync_run OWNER TO postgres")


def test_db_upgrade_grants_the_store_bound_role_every_table_R22(
    clean_pg: str, bare_role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`s5sync db upgrade` (as the owner) keeps the store-bound role's grants in step
    with the schema: a role with none has all it needs after it."""
    for key in [k for k in os.environ if k.startswith("S5SYNC_")]:
        monkeypatch.delenv(key)
    env = tmp_path / "s5sync.env"
    env.write_text(
        f"S5SYNC_DATABASE_URL={clean_pg}\n"
        f"S5SYNC_TENANT_DATABASE_URL={as_role(clean_pg, bare_role)}\n"
        f"S5SYNC_SECRET_KEYS={SecretBox.generate_key()}\n"
    )
    done = CliRunner().invoke(cli_app, ["--env-file", str(env), "db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert f"role {bare_role} granted its rights on every table" in done.stdout

    async def problem() -> str | None:
        db = Database(clean_pg, tenant_url=as_role(clean_pg, bare_role))
        try:
            return await db.tenant_role_problem()
        finally:
            await db.dispose()

    assert asyncio.run(problem()) is None

    env.write_text(env.read_text().replace(bare_role, "no_such_role_here"))
    refused = CliRunner().invoke(cli_app, ["--env-file", str(env), "db", "upgrade"])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("s5sync: S5SYNC_TENANT_DATABASE_URL: ")
    assert "no_such_role_here" in refused.stderr


def test_db_upgrade_with_the_job_queue_grants_its_tables_too_R22(
    pg_databases: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22 (compose.yaml's deployment): with S5SYNC_SCHEDULER=procrastinate the job
    queue's tables are made before the grant, so serve's and worker's role check passes."""
    for key in [k for k in os.environ if k.startswith("S5SYNC_")]:
        monkeypatch.delenv(key)
    database: str = pg_databases.create()
    app_url: str = pg_databases.app_role(database)  # grants on no table yet: none exist
    env = tmp_path / "s5sync.env"
    env.write_text(
        f"S5SYNC_DATABASE_URL={database}\n"
        f"S5SYNC_TENANT_DATABASE_URL={app_url}\n"
        f"S5SYNC_SECRET_KEYS={SecretBox.generate_key()}\n"
        "S5SYNC_SCHEDULER=procrastinate\n"
    )
    done = CliRunner().invoke(cli_app, ["--env-file", str(env), "db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert "job queue created" in done.stdout

    async def problem() -> str | None:
        db = Database(database, tenant_url=app_url)
        try:
            return await db.tenant_role_problem()
        finally:
            await db.dispose()

    assert asyncio.run(problem()) is None
