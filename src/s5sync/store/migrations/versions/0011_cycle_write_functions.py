"""A cycle's fenced writes in one round trip each on PostgreSQL (issue 25 item 2).

A cycle with changes wrote its mapping rows and its window in fenced transactions of
their own — BEGIN, the store binding, the fence's `SELECT … FOR UPDATE`, the rows,
COMMIT — each several round trips and SQLAlchemy's greenlet hops. Now each is one
autocommit statement (`Database.single_statement`), as the cycle's start and finish
are (migration 0008):

- `s5sync_cycle_write(tenant, user, fence, links, window, delta_link)`: binds the
  statement to the store (R22), locks the user's row and goes on only while its fence is
  `fence` (R16, exactly `store/scope.check_fence`), then saves the window when one is
  given (the cache rows and the sealed delta link) and applies the link rows in order —
  `{"op": "add" | "replace" | "delete", …}` as `store/cycle_rows.link_op` writes them;
  a replaced row that vanished raises `no_data_found`, a second link the schema's unique
  keys, so the statement's transaction keeps all of it or none. Answers the fence the
  row holds (NULL: no such user), so a caller whose fence it is not raises `LeaseLost`.
  The crash-safe order is the caller's: one statement per transaction it had before.
- `s5sync_window_put(tenant, user, window, delta_link)`: the window save itself, shared
  by `s5sync_cycle_write` and `s5sync_cycle_finish` (redefined here to call it: one
  copy of the rule); it relies on its caller's binding and fence.
- `s5sync_cache_read(tenant, user, ids)`: the cached events by id (NULL: all), bound to
  the store, as `[event_id, data, change_key, server_hash, relevant]` rows.

SECURITY INVOKER, as migration 0008's. SQLite keeps its statements.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WINDOW_PUT = """
CREATE OR REPLACE FUNCTION s5sync_window_put(
    p_tenant integer, p_user integer, p_window json, p_delta_link bytea
) RETURNS void LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_at timestamp := (p_window->>'baselined_at')::timestamp;
BEGIN
    IF (p_window->>'rebaselined')::boolean THEN
        DELETE FROM event_cache WHERE tenant_id = p_tenant AND user_id = p_user;
    ELSIF json_array_length(p_window->'stale') > 0 THEN
        DELETE FROM event_cache
         WHERE tenant_id = p_tenant AND user_id = p_user
           AND event_id IN (SELECT json_array_elements_text(p_window->'stale'));
    END IF;
    INSERT INTO event_cache (tenant_id, user_id, event_id, data, change_key,
                             server_hash, relevant, updated_at)
    SELECT p_tenant, p_user, u->>'event_id', u->'data', u->>'change_key',
           u->>'server_hash', (u->>'relevant')::boolean, v_at
      FROM json_array_elements(p_window->'upserts') WITH ORDINALITY AS x(u, n)
     ORDER BY n;
    UPDATE delta_state
       SET delta_link_enc = p_delta_link,
           window_start = (p_window->>'window_start')::timestamp,
           window_end = (p_window->>'window_end')::timestamp,
           baselined_at = v_at,
           relevance_tag = p_window->>'relevance_tag'
     WHERE tenant_id = p_tenant AND user_id = p_user;
    IF NOT FOUND THEN
        INSERT INTO delta_state (tenant_id, user_id, delta_link_enc, window_start,
                                 window_end, baselined_at, relevance_tag)
        VALUES (p_tenant, p_user, p_delta_link,
                (p_window->>'window_start')::timestamp,
                (p_window->>'window_end')::timestamp, v_at,
                p_window->>'relevance_tag');
    END IF;
END
$fn$
"""

WRITE = """
CREATE OR REPLACE FUNCTION s5sync_cycle_write(
    p_tenant integer, p_user integer, p_fence integer, p_links json, p_window json,
    p_delta_link bytea
) RETURNS integer LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_fence integer;
    v_op json;
    v_by text;
    v_key text;
BEGIN
    PERFORM set_config('s5sync.tenant_id', p_tenant::text, true);  -- R22
    -- R16: go on only while the lease is ours; its row stays locked to the commit.
    SELECT lease_fence INTO v_fence FROM app_user
     WHERE tenant_id = p_tenant AND id = p_user FOR UPDATE;
    IF v_fence IS DISTINCT FROM p_fence THEN
        RETURN v_fence;
    END IF;
    IF p_window IS NOT NULL THEN
        PERFORM s5sync_window_put(p_tenant, p_user, p_window, p_delta_link);
    END IF;
    FOR v_op IN SELECT o FROM json_array_elements(p_links) WITH ORDINALITY AS x(o, n)
                 ORDER BY n LOOP
        v_by := v_op->>'by';
        v_key := v_op->>'key';
        IF v_op->>'op' = 'add' THEN
            INSERT INTO event_link (tenant_id, user_id, task_id, event_id, origin, state,
                                    transaction_id, task_hash, event_hash, change_key,
                                    created_at, updated_at)
            VALUES (p_tenant, p_user, (v_op->>'task_id')::integer, v_op->>'event_id',
                    v_op->>'origin', v_op->>'state', v_op->>'transaction_id',
                    v_op->>'task_hash', v_op->>'event_hash', v_op->>'change_key',
                    (v_op->>'at')::timestamp, (v_op->>'at')::timestamp);
        ELSIF v_op->>'op' = 'replace' THEN
            UPDATE event_link
               SET task_id = (v_op->>'task_id')::integer, event_id = v_op->>'event_id',
                   origin = v_op->>'origin', state = v_op->>'state',
                   transaction_id = v_op->>'transaction_id',
                   task_hash = v_op->>'task_hash', event_hash = v_op->>'event_hash',
                   change_key = v_op->>'change_key', updated_at = (v_op->>'at')::timestamp
             WHERE id = (SELECT l.id FROM event_link l
                          WHERE l.tenant_id = p_tenant AND l.user_id = p_user
                            AND CASE v_by
                                WHEN 'task_id' THEN l.task_id::text = v_key
                                WHEN 'event_id' THEN l.event_id = v_key
                                ELSE l.transaction_id IS NOT DISTINCT FROM v_key END
                          ORDER BY l.id LIMIT 1);
            IF NOT FOUND THEN
                RAISE EXCEPTION 'mapping row vanished' USING ERRCODE = 'no_data_found';
            END IF;
        ELSIF v_op->>'op' = 'delete' THEN
            DELETE FROM event_link l
             WHERE l.tenant_id = p_tenant AND l.user_id = p_user
               AND CASE v_by
                   WHEN 'task_id' THEN l.task_id::text = v_key
                   ELSE l.event_id IS NOT DISTINCT FROM v_key END;
        ELSE
            RAISE EXCEPTION 'unknown link write %', v_op->>'op';
        END IF;
    END LOOP;
    RETURN v_fence;
END
$fn$
"""

FINISH = """
CREATE OR REPLACE FUNCTION s5sync_cycle_finish(
    p_tenant integer, p_user integer, p_fence integer, p_run integer,
    p_now timestamp, p_finished_at timestamp, p_next_run_at timestamp,
    p_outcome text, p_status text, p_error text,
    p_skip_keys json, p_counts json, p_graph_requests json, p_entries json,
    p_window json, p_delta_link bytea, p_resync_of timestamp
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_released boolean;
BEGIN
    PERFORM set_config('s5sync.tenant_id', p_tenant::text, true);  -- R22
    UPDATE app_user
       SET lease_holder = NULL, lease_expires_at = NULL, next_run_at = p_next_run_at,
           last_run_at = p_finished_at, last_outcome = p_outcome, status = p_status,
           last_error = p_error, last_skip_keys = p_skip_keys,
           -- R14c: a finished resync clears its request, not one made while it ran.
           resync_requested_at = CASE WHEN resync_requested_at <= p_resync_of
                                      THEN NULL ELSE resync_requested_at END,
           resync_requested_by = CASE WHEN resync_requested_at <= p_resync_of
                                      THEN NULL ELSE resync_requested_by END
     WHERE tenant_id = p_tenant AND id = p_user AND lease_fence = p_fence;
    v_released := FOUND;
    IF v_released AND p_window IS NOT NULL THEN
        -- Still ours (the row stays locked to the commit): the window goes with it.
        PERFORM s5sync_window_put(p_tenant, p_user, p_window, p_delta_link);
    END IF;
    INSERT INTO activity (tenant_id, user_id, run_id, at, direction, action, reason,
                          task_id, event_id, subject, message)
    SELECT p_tenant, p_user, p_run, p_now, e->>'direction', e->>'action', e->>'reason',
           (e->>'task_id')::integer, e->>'event_id', e->>'subject', e->>'message'
      FROM json_array_elements(p_entries) WITH ORDINALITY AS x(e, n)
     ORDER BY n;
    UPDATE sync_run
       SET finished_at = p_finished_at, outcome = p_outcome, counts = p_counts,
           graph_requests = p_graph_requests, skip_keys = p_skip_keys, error = p_error
     WHERE tenant_id = p_tenant AND id = p_run;
    RETURN v_released;
END
$fn$
"""

CACHE_READ = """
CREATE OR REPLACE FUNCTION s5sync_cache_read(p_tenant integer, p_user integer, p_ids text[])
RETURNS json LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    PERFORM set_config('s5sync.tenant_id', p_tenant::text, true);  -- R22
    RETURN (
        SELECT coalesce(json_agg(json_build_array(
                   c.event_id, c.data, c.change_key, c.server_hash, c.relevant)), '[]')
          FROM event_cache c
         WHERE c.tenant_id = p_tenant AND c.user_id = p_user
           AND (p_ids IS NULL OR c.event_id = ANY (p_ids)));
END
$fn$
"""


def _finish_of_0008() -> str:
    spec = importlib.util.spec_from_file_location(
        "s5sync_migration_0008", Path(__file__).with_name("0008_cycle_functions.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FINISH)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(WINDOW_PUT)
    op.execute(WRITE)
    op.execute(FINISH)
    op.execute(CACHE_READ)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_finish_of_0008())
    op.execute("DROP FUNCTION IF EXISTS s5sync_cache_read")
    op.execute("DROP FUNCTION IF EXISTS s5sync_cycle_write")
    op.execute("DROP FUNCTION IF EXISTS s5sync_window_put")
