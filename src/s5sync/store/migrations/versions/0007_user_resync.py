"""Resync (repair) per user (issue 21 item 2, R14c): `app_user.resync_requested_at` and
`resync_requested_by` — while set, the user's next cycle is a resync: the delta link and
window cache are read again from scratch, the mapping is checked against the identities
both sides carry (R16b) and every future ticked task is compared with its event. The
cycle that finished the resync clears them (a request made meanwhile stays).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import s5sync.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resync_requested_at", s5sync.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("resync_requested_by", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("resync_requested_by")
        batch_op.drop_column("resync_requested_at")
