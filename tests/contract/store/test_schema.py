"""Alembic's `upgrade head` builds exactly the models' schema, on both databases, and
PostgreSQL's row-level security holds against a non-owner role (R22)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from s5sync.store.database import Database
from s5sync.store.migrate import include_object, sync_url, upgrade
from s5sync.store.models import Base
from s5sync.store.secrets import SecretBox
from support.two_stores import two_stores_with_a_user_each

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def schema_differences(url: str) -> list[object]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return list(diff)


def test_alembic_head_equals_the_models_schema(database_url: str) -> None:
    assert schema_differences(database_url) == []


def test_library_tables_are_left_out_of_the_comparison(migrated_pg: str) -> None:
    with psycopg.connect(migrated_pg, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS procrastinate_jobs_probe (id int)")
    try:
        assert schema_differences(migrated_pg) == []
    finally:
        with psycopg.connect(migrated_pg, autocommit=True) as conn:
            conn.execute("DROP TABLE procrastinate_jobs_probe")


async def test_row_level_security_confines_a_session_to_its_tenant_R22(
    clean_pg: str, app_role: str
) -> None:
    database_url = clean_pg
    box = SecretBox([SecretBox.generate_key()])
    db = Database(database_url)
    a, b = await two_stores_with_a_user_each(db, box, NOW)
    await db.dispose()

    app_url = database_url.replace("postgresql://postgres@", f"postgresql://{app_role}@")
    with psycopg.connect(app_url) as conn:
        conn.execute("SELECT set_config('s5sync.tenant_id', %s, false)", (str(a.id),))
        # Hand-written queries, no tenant filter: the policies filter for us.
        assert conn.execute("SELECT object_id FROM app_user").fetchall() == [("oid-a",)]
        assert conn.execute("SELECT ms_tenant_id FROM tenant").fetchall() == [("rls-a",)]
        changed = conn.execute("UPDATE app_user SET email = 'owned' WHERE tenant_id = %s", (b.id,))
        assert changed.rowcount == 0
        deleted = conn.execute("DELETE FROM app_user WHERE tenant_id = %s", (b.id,))
        assert deleted.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO event_link (tenant_id, user_id, task_id, origin, state, "
                "created_at, updated_at) VALUES (%s, 1, 1, 's5', 'active', now(), now())",
                (b.id,),
            )
        conn.rollback()
        conn.execute("SELECT set_config('s5sync.tenant_id', '', false)")
        assert conn.execute("SELECT count(*) FROM app_user").fetchone() == (0,)
    with psycopg.connect(database_url) as conn:
        emails = conn.execute("SELECT email FROM app_user ORDER BY object_id").fetchall()
    assert emails == [("oid-a@x.example",), ("oid-b@x.example",)]


def test_migration_0002_keeps_each_users_standing_skips_R18(tmp_path: Path) -> None:
    """A database from before 0002: every cached event stays relevant (read as before)
    and each user's last finished cycle's skips move to the user, so a standing skip is
    not said again after the upgrade."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenant (id, ms_tenant_id, name, s5_connection_enc, time_zone, "
                "category_name, category_color, sync_tag, import_window_days, "
                "interval_minutes, background_sync, retention_days, created_at) VALUES "
                "(1, 't', 'T', x'00', 'UTC', 'c', 'preset4', '[sync]', 14, 10, 0, 30, :at)"
            ),
            {"at": "2026-11-25 14:00:00"},
        )
        for user_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO app_user (id, tenant_id, object_id, email, display_name, "
                    "is_admin, status, sync_now_requested, session_generation, lease_fence, "
                    "created_at) VALUES (:id, 1, :oid, :oid, '', 0, 'active', 0, 0, 0, :at)"
                ),
                {"id": user_id, "oid": f"u{user_id}", "at": "2026-11-25 14:00:00"},
            )
        runs = [
            ("14:00", "14:01", '[["no_sync", 4, null]]'),
            ("14:10", "14:11", '[["no_sync", 5, null]]'),
            ("14:20", None, '[["no_sync", 6, null]]'),  # killed: never finished
        ]
        for started, finished, keys in runs:
            conn.execute(
                text(
                    "INSERT INTO sync_run (tenant_id, user_id, now, started_at, finished_at, "
                    "outcome, counts, graph_requests, skip_keys, fence) VALUES "
                    "(1, 1, :s, :s, :f, 'ok', '{}', '{}', :k, 1)"
                ),
                {
                    "s": f"2026-11-25 {started}:00",
                    "f": f"2026-11-25 {finished}:00" if finished else None,
                    "k": keys,
                },
            )
        conn.execute(
            text(
                "INSERT INTO event_cache (tenant_id, user_id, event_id, data, change_key, "
                "server_hash, updated_at) VALUES (1, 1, 'e1', '{}', '', '', :at)"
            ),
            {"at": "2026-11-25 14:00:00"},
        )
    upgrade(url, "0008")  # 0009 empties the window cache (next test)
    with engine.connect() as conn:
        skip_keys: dict[int, str] = dict(
            conn.execute(text("SELECT id, last_skip_keys FROM app_user")).all()
        )
        relevant = conn.execute(text("SELECT relevant FROM event_cache")).scalar_one()
    engine.dispose()
    assert json.loads(skip_keys[1]) == [["no_sync", 5, None]]
    assert skip_keys[2] is None
    assert relevant in (1, True)


def test_migration_0009_empties_the_window_caches_it_cannot_seal_and_keeps_the_links_R22(
    tmp_path: Path,
) -> None:
    """Issue 23: cached event text written in clear before 0009 is not left behind in
    clear; each user's next cycle re-reads the window (the links stay)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0008")
    engine = create_engine(url)
    at = {"at": "2026-11-25 14:00:00"}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenant (id, ms_tenant_id, name, s5_connection_enc, time_zone, "
                "category_name, category_color, sync_tag, import_window_days, "
                "interval_minutes, background_sync, retention_days, created_at) VALUES "
                "(1, 't', 'T', x'00', 'UTC', 'c', 'preset4', '[sync]', 14, 10, 0, 30, :at)"
            ),
            at,
        )
        conn.execute(
            text(
                "INSERT INTO app_user (id, tenant_id, object_id, email, display_name, "
                "is_admin, status, sync_now_requested, session_generation, lease_fence, "
                "created_at) VALUES (1, 1, 'u1', 'u1', '', 0, 'active', 0, 0, 0, :at)"
            ),
            at,
        )
        conn.execute(
            text(
                "INSERT INTO event_cache (tenant_id, user_id, event_id, data, change_key, "
                "server_hash, updated_at) VALUES "
                "(1, 1, 'e1', '{\"subject\": \"Door code 4471\"}', '', '', :at)"
            ),
            at,
        )
        conn.execute(
            text(
                "INSERT INTO delta_state (tenant_id, user_id, window_start, window_end, "
                "baselined_at) VALUES (1, 1, :at, :at, :at)"
            ),
            at,
        )
        conn.execute(
            text(
                "INSERT INTO event_link (tenant_id, user_id, task_id, event_id, origin, "
                "state, created_at, updated_at) VALUES "
                "(1, 1, 7, 'e1', 's5', 'active', :at, :at)"
            ),
            at,
        )
    upgrade(url)
    with engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("event_cache", "delta_state", "event_link")
        }
    engine.dispose()
    assert counts == {"event_cache": 0, "delta_state": 0, "event_link": 1}
