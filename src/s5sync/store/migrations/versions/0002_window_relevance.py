"""What a cycle reads at its start, kept cheap (issue 12: an idle cycle's cost grows with
what is synced and what changed, not with the other events of the calendar).

`event_cache.relevant`: the event carries the sync tag (as `delta_state.relevance_tag`
names it) or an identity of ours; a cycle reads only those and the linked ones. Rows
that exist already count as relevant, and a NULL `relevance_tag` makes the next cycle
judge every row again.

`app_user.last_skip_keys`: the skips of the user's last finished cycle (R18: a standing
skip is said once), read with the lease instead of from `sync_run`; filled here from
each user's last finished run.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_cache", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("relevant", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("delta_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("relevance_tag", sa.String(length=64), nullable=True))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_skip_keys", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE app_user SET last_skip_keys = (SELECT skip_keys FROM sync_run "
        "WHERE sync_run.user_id = app_user.id AND sync_run.finished_at IS NOT NULL "
        "ORDER BY sync_run.started_at DESC, sync_run.id DESC LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("last_skip_keys")
    with op.batch_alter_table("delta_state", schema=None) as batch_op:
        batch_op.drop_column("relevance_tag")
    with op.batch_alter_table("event_cache", schema=None) as batch_op:
        batch_op.drop_column("relevant")
