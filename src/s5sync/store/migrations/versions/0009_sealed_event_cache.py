"""Event text in the window cache is sealed, and runs a dead cycle left open are closed
(issue 23 item 6; R22, R18; `store/sealed.py`, `sync/holders.py`).

From this revision on, `event_cache.data` keeps an event's subject and body as one
Fernet token. Rows written before it hold them in clear; a migration has no keys to
seal them with, so the window cache and delta links are emptied instead: each user's
next cycle re-reads their window once (a re-baseline: absence is not deletion, and the
mapping rows, which say what is linked, are kept). Downgrading empties them again, for
the older code cannot read sealed rows.

On PostgreSQL `s5sync_cycle_start` (migration 0008) now closes as `interrupted` the run
rows left open when it takes over a lease its cycle never released (expired, or made
expired because its holder is gone), as `store/cycles.py` does on SQLite. The check is
one primary-key read inside the function: no round trip is added.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _start_of_0008() -> str:
    spec = importlib.util.spec_from_file_location(
        "s5sync_migration_0008", Path(__file__).with_name("0008_cycle_functions.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.START)


TAKE = """    UPDATE app_user
       SET lease_holder = p_holder, lease_fence = lease_fence + 1,"""
UNRELEASED = """    -- Issue 23: a lease its cycle never released leaves that cycle's run open.
    SELECT lease_expires_at IS NOT NULL INTO v_unreleased
      FROM app_user WHERE tenant_id = p_tenant AND id = p_user;
"""
OPENED = """    INSERT INTO sync_run (tenant_id, user_id, now, started_at, finished_at, outcome,"""
INTERRUPT = """    IF v_unreleased THEN
        UPDATE sync_run
           SET finished_at = p_now, outcome = 'interrupted',
               error = 'the cycle stopped before it finished (its process was stopped or lost)'
         WHERE tenant_id = p_tenant AND user_id = p_user AND finished_at IS NULL
           AND fence < v_user.lease_fence;
    END IF;
"""


def _start_closing_runs(start: str) -> str:
    for part in (TAKE, OPENED, "    v_run integer;\n"):
        assert part in start, part
    start = start.replace("    v_run integer;\n", "    v_run integer;\n    v_unreleased boolean;\n")
    start = start.replace(TAKE, UNRELEASED + TAKE, 1)
    return start.replace(OPENED, INTERRUPT + OPENED, 1)


def _empty_the_window_caches() -> None:
    op.execute("DELETE FROM event_cache")
    op.execute("DELETE FROM delta_state")


def upgrade() -> None:
    _empty_the_window_caches()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_start_closing_runs(_start_of_0008()))


def downgrade() -> None:
    _empty_the_window_caches()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_start_of_0008())
