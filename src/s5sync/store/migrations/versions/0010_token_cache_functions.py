"""The sealed MSAL token cache read and written in one round trip on PostgreSQL (issue 25
item 3).

`s5sync_token_cache_load(tenant, user)` and `s5sync_token_cache_save(tenant, user,
sealed)` bind themselves to the store (R22) and read or write `app_user.token_cache_enc`,
each called as one autocommit statement (`Database.single_statement`) where the
statement it replaces needed BEGIN, the binding, the statement and COMMIT. The load
answers the sealed cache as text (MultiFernet tokens are ASCII), '' when the user has
none, NULL when there is no such user in the store; the save answers whether the user
was there. SECURITY INVOKER, as migration 0008's. SQLite keeps its statements.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LOAD = """
CREATE OR REPLACE FUNCTION s5sync_token_cache_load(p_tenant integer, p_user integer)
RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_sealed bytea;
BEGIN
    PERFORM set_config('s5sync.tenant_id', p_tenant::text, true);  -- R22
    SELECT token_cache_enc INTO v_sealed FROM app_user
     WHERE tenant_id = p_tenant AND id = p_user;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN coalesce(convert_from(v_sealed, 'UTF8'), '');
END
$fn$
"""

SAVE = """
CREATE OR REPLACE FUNCTION s5sync_token_cache_save(
    p_tenant integer, p_user integer, p_sealed bytea
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    PERFORM set_config('s5sync.tenant_id', p_tenant::text, true);  -- R22
    UPDATE app_user SET token_cache_enc = p_sealed
     WHERE tenant_id = p_tenant AND id = p_user;
    RETURN FOUND;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(LOAD)
    op.execute(SAVE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS s5sync_token_cache_save")
    op.execute("DROP FUNCTION IF EXISTS s5sync_token_cache_load")
