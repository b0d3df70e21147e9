"""Graph change notifications and the System Five watcher (issue 19, R14b).

- `graph_subscription`: one row per user's Graph subscription on `me/events` — its id,
  its sealed client state (R22), expiry and the time the manager renews it;
- `store_watch`: the System Five watcher's watermark per store (R14b: never miss a save);
- `tenant.s5_poll_seconds` (15) and `tenant.safety_minutes` (60), store options;
- `app_user.push_live_until` (the subscription is live and healthy until then: the
  periodic cycle is the safety net) and `app_user.last_change_at` (the dashboard's
  "last change seen").

Both new tables carry `tenant_id` and get the same row-level security as 0001's.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import s5sync.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ("graph_subscription", "store_watch")


def upgrade() -> None:
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("s5_poll_seconds", sa.Integer(), server_default="15", nullable=False)
        )
        batch_op.add_column(
            sa.Column("safety_minutes", sa.Integer(), server_default="60", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_tenant_s5_poll"), "s5_poll_seconds BETWEEN 1 AND 3600"
        )
        batch_op.create_check_constraint(
            op.f("ck_tenant_safety"), "safety_minutes BETWEEN 1 AND 1440"
        )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("push_live_until", s5sync.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_change_at", s5sync.store.types.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "graph_subscription",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=128), nullable=False),
        sa.Column("client_state_enc", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", s5sync.store.types.UTCDateTime(), nullable=False),
        sa.Column("renew_at", s5sync.store.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", s5sync.store.types.UTCDateTime(), nullable=False),
        sa.Column("renewed_at", s5sync.store.types.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_graph_subscription_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_graph_subscription_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graph_subscription")),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_graph_subscription_subscription_id")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", name=op.f("uq_graph_subscription_tenant_id_user_id")
        ),
    )
    with op.batch_alter_table("graph_subscription", schema=None) as batch_op:
        batch_op.create_index("ix_graph_subscription_renew_at", ["renew_at"], unique=False)
    op.create_table(
        "store_watch",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.String(length=40), nullable=True),
        sa.Column("seen", sa.JSON(), nullable=False),
        sa.Column("polled_at", s5sync.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_store_watch_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_store_watch")),
    )
    if op.get_bind().dialect.name == "postgresql":
        tenant = "NULLIF(current_setting('s5sync.tenant_id', true), '')::integer"
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant})"
            )


def downgrade() -> None:
    op.drop_table("store_watch")
    with op.batch_alter_table("graph_subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_graph_subscription_renew_at")
    op.drop_table("graph_subscription")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("last_change_at")
        batch_op.drop_column("push_live_until")
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_tenant_safety"), type_="check")
        batch_op.drop_constraint(op.f("ck_tenant_s5_poll"), type_="check")
        batch_op.drop_column("safety_minutes")
        batch_op.drop_column("s5_poll_seconds")
