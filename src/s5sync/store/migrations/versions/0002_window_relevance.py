"""Which cached events can matter to a cycle (issue 12: an idle cycle's cost grows with
what is synced and what changed, not with the other events of the calendar).

`event_cache.relevant`: the event carries the sync tag (as `delta_state.relevance_tag`
names it) or an identity of ours; a cycle reads only those and the linked ones. Rows
that exist already count as relevant, and a NULL `relevance_tag` makes the next cycle
judge every row again.

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


def downgrade() -> None:
    with op.batch_alter_table("delta_state", schema=None) as batch_op:
        batch_op.drop_column("relevance_tag")
    with op.batch_alter_table("event_cache", schema=None) as batch_op:
        batch_op.drop_column("relevant")
