"""The idle cycle's CALENDAREVENT work in two round trips on PostgreSQL (issue 25 item 1).

Two SQL functions, each called as one statement outside any explicit transaction (the
statement is its own transaction, so BEGIN and COMMIT cost no round trip of their own):

- `s5sync_cycle_start(tenant, user, holder, now, ttl)`: binds the statement to the store
  for row-level security (R22) before its first read, reads the store's options, takes
  the lease with the next fence (R16; the same conditions as `store/cycles.py` on
  SQLite), opens the run row (R18), and returns the user, the lease's expiry, the user's
  links, delta link and the cached events that can matter, as one JSON value; or
  `{"refused": "no_store" | "no_user" | "busy" | "not_onboarded"}` with nothing written.
- `s5sync_cycle_finish(...)`: binds to the store, releases the lease only while the
  fence is still ours (R16) and clears the resync request it carried out (R14c), saves
  the window (cache rows and delta link) only then, writes the activity and closes the
  run row (R18); returns whether the lease was ours.

Both are SECURITY INVOKER (the default): the policies bind the caller's role exactly as
they bind the statements they replace. SQLite has no functions and keeps its statements.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

START = """
CREATE OR REPLACE FUNCTION s5sync_cycle_start(
    p_tenant integer, p_user integer, p_holder text, p_now timestamp, p_ttl interval
) RETURNS json LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_tenant jsonb;
    v_interval integer;
    v_expires timestamp;
    v_user app_user;
    v_run integer;
BEGIN
    -- R22: the rest of this statement's transaction sees only this store's rows.
    PERFORM set_config('s5sync.tenant_id', p_tenant::text, true);
    SELECT to_jsonb(t) - 's5_connection_enc', t.interval_minutes INTO v_tenant, v_interval
      FROM tenant t WHERE t.id = p_tenant;
    IF NOT FOUND THEN
        RETURN json_build_object('refused', 'no_store');
    END IF;
    -- The lease lasts less than the interval, so a lost worker delays one cycle.
    v_expires := p_now + least(p_ttl, make_interval(mins => v_interval) * 0.9);
    UPDATE app_user
       SET lease_holder = p_holder, lease_fence = lease_fence + 1,
           lease_expires_at = v_expires, sync_now_requested = false
     WHERE tenant_id = p_tenant AND id = p_user
       AND employee_id IS NOT NULL AND onboarded_at IS NOT NULL
       AND (lease_expires_at IS NULL OR lease_expires_at < p_now)
    RETURNING * INTO v_user;
    IF NOT FOUND THEN
        SELECT * INTO v_user FROM app_user WHERE tenant_id = p_tenant AND id = p_user;
        IF NOT FOUND THEN
            RETURN json_build_object('refused', 'no_user');
        END IF;
        RETURN json_build_object('refused', CASE
            WHEN v_user.employee_id IS NOT NULL AND v_user.onboarded_at IS NOT NULL
            THEN 'busy' ELSE 'not_onboarded' END);
    END IF;
    INSERT INTO sync_run (tenant_id, user_id, now, started_at, finished_at, outcome,
                          counts, graph_requests, skip_keys, error, fence)
    VALUES (p_tenant, p_user, p_now, p_now, NULL, 'running', '{}', '{}', '[]', NULL,
            v_user.lease_fence)
    RETURNING id INTO v_run;
    RETURN json_build_object(
        'tenant', v_tenant,
        'user', (to_jsonb(v_user) - 'token_cache_enc')
                || jsonb_build_object('has_token_cache', v_user.token_cache_enc IS NOT NULL),
        'expires', v_expires,
        'run_id', v_run,
        'links', (
            SELECT coalesce(json_agg(json_build_array(
                       l.task_id, l.event_id, l.origin, l.state, l.transaction_id,
                       l.task_hash, l.event_hash, l.change_key) ORDER BY l.id), '[]')
              FROM event_link l WHERE l.tenant_id = p_tenant AND l.user_id = p_user),
        'delta', (
            SELECT json_build_array(
                       convert_from(d.delta_link_enc, 'UTF8'), d.window_start, d.window_end,
                       d.baselined_at, d.relevance_tag)
              FROM delta_state d WHERE d.tenant_id = p_tenant AND d.user_id = p_user),
        'cached', (
            SELECT coalesce(json_agg(json_build_array(
                       c.event_id, c.data, c.change_key, c.server_hash, c.relevant)), '[]')
              FROM event_cache c
             WHERE c.tenant_id = p_tenant AND c.user_id = p_user
               AND (c.relevant OR EXISTS (
                    SELECT 1 FROM event_link l
                     WHERE l.tenant_id = c.tenant_id AND l.user_id = c.user_id
                       AND l.event_id = c.event_id)))
    );
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
    v_at timestamp;
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
        v_at := (p_window->>'baselined_at')::timestamp;
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


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(START)
    op.execute(FINISH)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS s5sync_cycle_finish")
    op.execute("DROP FUNCTION IF EXISTS s5sync_cycle_start")
